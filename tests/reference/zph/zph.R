#!/usr/bin/env Rscript
# cox.zph references: per-term and global tests under four transforms, real trials.
#   Rscript tests/reference/zph/zph.R   -> expected.json (inputs are ../subgroups/inputs/*.csv)
local({
  args <- commandArgs(trailingOnly = FALSE)
  here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
  source(file.path(here, "../common.R"))
})
suppressPackageStartupMessages({ library(survival); library(jsonlite) })

CASES <- list(
  list(id = "veteran", file = "veteran.csv", time = "time", event = "status",
       rhs = "factor(trt) + karno + factor(celltype)", ties = "efron", strata = NULL),
  list(id = "colon", file = "colon.csv", time = "time", event = "status",
       rhs = "factor(rx, levels = c('Obs', 'Lev', 'Lev+5FU')) + age + sex", ties = "breslow",
       strata = NULL),
  list(id = "gbsg", file = "gbsg.csv", time = "rfstime", event = "status",
       rhs = "hormon + age + factor(grade)", ties = "efron", strata = "meno")
)

main <- function() {
  here <- script_dir()
  out <- list()
  for (cs in CASES) {
    d <- read.csv(file.path(here, "../subgroups/inputs", cs$file), stringsAsFactors = FALSE)
    rhs <- cs$rhs
    if (!is.null(cs$strata)) rhs <- paste0(rhs, " + strata(", cs$strata, ")")
    f <- as.formula(paste0("Surv(", cs$time, ", ", cs$event, ") ~ ", rhs))
    fit <- coxph(f, data = d, ties = cs$ties)
    res <- list()
    for (tr in c("km", "rank", "identity", "log")) {
      z <- cox.zph(fit, transform = tr, terms = TRUE)$table
      res[[tr]] <- lapply(seq_len(nrow(z)), function(i)
        list(term = rownames(z)[i], chisq = num(z[i, "chisq"]), df = int(z[i, "df"]),
             p = num(z[i, "p"])))
    }
    out[[cs$id]] <- list(coef = lapply(unname(coef(fit)), num), zph = res)
  }
  write_json(out, file.path(here, "expected.json"), auto_unbox = TRUE, digits = NA,
             pretty = TRUE, json_verbatim = TRUE)
}
main()
