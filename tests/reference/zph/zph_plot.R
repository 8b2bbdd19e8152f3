#!/usr/bin/env Rscript
# plot(cox.zph(fit)) references: scaled Schoenfeld residuals (x, time, y, var) and what
# plot.cox.zph draws for each term (the natural-spline smooth on its grid, the +/- 2 SE band,
# and the x-axis ticks labelled in time for the km and rank transforms).
#   Rscript tests/reference/zph/zph_plot.R   -> plot.json (inputs are ../subgroups/inputs/*.csv)
# survival 3.5's plot.cox.zph has no plot = FALSE, so the smooth is computed here with the
# same steps as its source: ns(c(grid, x), df, intercept = TRUE), qr.coef, backsolve.
local({
  args <- commandArgs(trailingOnly = FALSE)
  here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
  source(file.path(here, "../common.R"))
})
suppressPackageStartupMessages({ library(survival); library(splines); library(jsonlite) })

CASES <- list(
  list(id = "veteran", file = "veteran.csv", time = "time", event = "status",
       rhs = "factor(trt) + karno + factor(celltype)", ties = "efron", strata = NULL,
       transform = "km"),
  list(id = "colon", file = "colon.csv", time = "time", event = "status",
       rhs = "factor(rx, levels = c('Obs', 'Lev', 'Lev+5FU')) + age + sex", ties = "breslow",
       strata = NULL, transform = "rank"),
  list(id = "gbsg", file = "gbsg.csv", time = "rfstime", event = "status",
       rhs = "hormon + age + factor(grade)", ties = "efron", strata = "meno",
       transform = "identity"),
  list(id = "veteran_log", file = "veteran.csv", time = "time", event = "status",
       rhs = "factor(trt) + karno", ties = "breslow", strata = NULL, transform = "log")
)

nums <- function(x) I(lapply(as.numeric(x), num))

smooth <- function(z, i, df = 4, nsmo = 40) {
  xx <- z$x
  pred.x <- seq(from = min(xx), to = max(xx), length = nsmo)
  lmat <- ns(c(pred.x, xx), df = df, intercept = TRUE)
  pmat <- lmat[1:nsmo, ]
  xmat <- lmat[-(1:nsmo), ]
  y <- z$y[, i]
  keep <- !is.na(y)
  qmat <- qr(xmat[keep, ])
  yhat <- pmat %*% qr.coef(qmat, y[keep])
  bk <- backsolve(qmat$qr[1:df, 1:df], diag(df))
  seval <- ((pmat %*% (bk %*% t(bk))) * pmat) %*% rep(1, df)
  half <- 2 * sqrt(z$var[i, i] * seval)
  list(x = nums(pred.x), fit = nums(yhat), upper = nums(yhat + half), lower = nums(yhat - half))
}

axis_ticks <- function(z) {
  if (z$transform %in% c("identity", "log")) return(NULL)
  xx <- z$x
  indx <- !duplicated(xx)
  apr1 <- approx(xx[indx], z$time[indx], seq(min(xx), max(xx), length = 17)[2 * (1:8)])
  temp <- signif(apr1$y, 2)
  apr2 <- approx(z$time[indx], xx[indx], temp)
  list(at = nums(apr2$y), labels = I(format(temp)))
}

main <- function() {
  here <- script_dir()
  out <- list()
  for (cs in CASES) {
    d <- read.csv(file.path(here, "../subgroups/inputs", cs$file), stringsAsFactors = FALSE)
    rhs <- cs$rhs
    if (!is.null(cs$strata)) rhs <- paste0(rhs, " + strata(", cs$strata, ")")
    f <- as.formula(paste0("Surv(", cs$time, ", ", cs$event, ") ~ ", rhs))
    fit <- coxph(f, data = d, ties = cs$ties)
    z <- cox.zph(fit, transform = cs$transform)
    terms <- lapply(seq_len(ncol(z$y)), function(i)
      list(y = nums(z$y[, i]), var = num(z$var[i, i]), smooth = smooth(z, i)))
    out[[cs$id]] <- list(transform = cs$transform, ties = cs$ties, x = nums(z$x),
                         time = nums(z$time), terms = terms, axis = axis_ticks(z))
  }
  write_json(out, file.path(here, "plot.json"), auto_unbox = TRUE, digits = NA, na = "null",
             null = "null", pretty = FALSE, json_verbatim = TRUE)
}
main()
