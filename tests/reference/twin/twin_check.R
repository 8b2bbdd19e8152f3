#!/usr/bin/env Rscript
# Independent R check that each synthetic twin reproduces its trial's published figures.
#
#   Rscript tests/reference/twin/twin_check.R     (from the repo root, or from anywhere)
#
# For every <name>_targets.json in this directory (written by export_targets.py) it reads the
# twin CSV (all columns as text, arm as character), computes every target with R's survival
# package under the spec's conventions, and writes <name>_r.json:
#   count      rows in the arm
#   km_median  quantile(survfit(conf.type=), 0.5) within the arm: median and CI
#   cox_hr     coxph(ties=) on the treatment indicator (+ strata() if any): HR, Wald CI
#   cox_p      summary(coxph)$coefficients Wald p
#   events     sum of the outcome's event column (within the arm when the target has one)
#   mean, sd   mean(x), sd(x) (n - 1)
#   share      mean(x == level) within the arm (if any); compared as numbers when the column
#              and the level are numeric (a 0/1 flag, level "1"), else as text
#   sum        sum(x) within the arm (if any)
#   fisher_p   fisher.test(table(x, arm))$p.value: two-sided, on a 0/1 column
#   icer       (mean cost_total_aud T - C) / (mean qaly_12m T - C)
#   prob_cost_effective
#              share of bootstrap replicates with wtp * dQALY - dCost > 0; participants are
#              resampled with replacement within each arm, BOOT_RESAMPLES replicates after
#              set.seed(BOOT_SEED) (Mersenne-Twister, Rejection sampling). R's RNG is not numpy's,
#              so this differs from walkback's by Monte Carlo error.
# rounds_to_published: |x - published| < precision / 2 for the estimate and, when the target
# has a CI, for each limit; for prob_cost_effective instead |x - published| <= BOOT_TOL (the
# target records the tolerance, resamples and seed). A target that does not round is reported
# (and shows up in the parity test); it is not an error. Any error -- and any warning, promoted
# to an error -- stops the script with a non-zero exit status. Outputs are generated; never
# edit them.

local({
  args <- commandArgs(trailingOnly = FALSE)
  here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
  source(file.path(here, "../common.R"))
})

# R's own bootstrap for prob_cost_effective (walkback's uses numpy and the spec's settings)
BOOT_RESAMPLES <- 2000L
BOOT_SEED <- 2024L
BOOT_TOL <- 0.02

main <- function() {
  suppressPackageStartupMessages({
    library(survival)
    library(jsonlite)
  })
  here <- script_dir()
  root <- normalizePath(file.path(here, "..", "..", ".."))
  manifests <- sort(list.files(here, "_targets\\.json$", full.names = TRUE))
  if (!length(manifests)) {
    fail("no *_targets.json in ", here, "; run tests/reference/twin/export_targets.py first")
  }
  written <- character(0)
  bad <- 0L
  for (m in manifests) {
    spec <- fromJSON(m, simplifyVector = FALSE)
    res <- check_twin(spec, root)
    out <- file.path(here, paste0(spec$name, "_r.json"))
    write_json(res, out, auto_unbox = TRUE, digits = NA, na = "null", null = "null",
               pretty = TRUE, json_verbatim = TRUE)
    written <- c(written, out)
    ok <- vapply(res$targets, function(t) t$rounds_to_published, logical(1))
    bad <- bad + sum(!ok)
    message(sprintf("%-16s %2d targets, %2d round to the published figure -> %s",
                    spec$name, length(ok), sum(ok), basename(out)))
    for (t in res$targets[!ok]) message("  DOES NOT ROUND: ", t$name)
  }
  stale <- setdiff(normalizePath(list.files(here, "_r\\.json$", full.names = TRUE)),
                   normalizePath(written))
  if (length(stale)) {
    file.remove(stale)
    message("removed stale: ", paste(basename(stale), collapse = ", "))
  }
  if (bad) message("twin_check.R: ", bad, " target(s) do not reproduce under R (see *_r.json)")
  invisible(NULL)
}

# a JSON string field that may be null in the manifest
str_or_null <- function(x) if (is.null(x)) NULL else as.character(x)

# ---------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------
read_twin <- function(spec, root) {
  path <- file.path(root, spec$csv)
  if (!file.exists(path)) fail(spec$name, ": twin CSV ", path, " not found")
  raw <- read.csv(path, colClasses = "character", check.names = FALSE,
                  na.strings = character(0), strip.white = FALSE, encoding = "UTF-8")
  if (!nrow(raw)) fail(spec$name, ": ", spec$csv, " has no rows")
  if (!("arm" %in% names(raw))) fail(spec$name, ": no 'arm' column in ", spec$csv)
  raw$arm <- trimws(raw$arm)
  labels <- c(spec$arms$treatment, spec$arms$control)
  if (!all(raw$arm %in% labels)) {
    fail(spec$name, ": arm labels ", paste(setdiff(unique(raw$arm), labels), collapse = ", "),
         " are neither ", labels[1], " nor ", labels[2])
  }
  raw
}

column <- function(raw, name, spec, numeric = TRUE) {
  if (!(name %in% names(raw))) fail(spec$name, ": no column '", name, "' in ", spec$csv)
  x <- raw[[name]]
  if (any(x %in% c("", "NA"))) fail(spec$name, ": empty/NA cells in column ", name)
  if (!numeric) return(trimws(x))
  v <- as.numeric(x)
  if (anyNA(v) || any(!is.finite(v))) fail(spec$name, ": non-numeric values in column ", name)
  v
}

outcome_data <- function(raw, spec, outcome) {
  time <- column(raw, paste0(outcome, "_days"), spec)
  event <- column(raw, paste0(outcome, "_event"), spec)
  if (any(time < 0)) fail(spec$name, ": negative times in ", outcome, "_days")
  if (!all(event %in% c(0, 1))) fail(spec$name, ": ", outcome, "_event must be 0/1")
  d <- data.frame(time = time, event = event,
                  treat = as.numeric(raw$arm == spec$arms$treatment))
  strata <- as.character(unlist(spec$conventions$strata))
  for (i in seq_along(strata)) d[[paste0("S", i)]] <- column(raw, strata[i], spec, FALSE)
  d
}

# ---------------------------------------------------------------------------------------
# one target: c(estimate, lower, upper); lower/upper NA when the statistic has no CI
# ---------------------------------------------------------------------------------------
target_value <- function(t, raw, spec) {
  conv <- spec$conventions
  alpha <- as.numeric(conv$alpha)
  in_arm <- if (is.null(t$arm)) rep(TRUE, nrow(raw)) else {
    if (!(t$arm %in% c("treatment", "control"))) fail(t$name, ": bad arm ", t$arm)
    raw$arm == spec$arms[[t$arm]]
  }
  stat <- t$statistic
  if (stat == "count") return(c(sum(in_arm), NA, NA))
  if (stat %in% c("mean", "sd")) {
    x <- column(raw, t$column, spec)
    return(c(if (stat == "mean") mean(x) else sd(x), NA, NA))
  }
  if (stat == "share") {
    x <- column(raw, t$column, spec, numeric = FALSE)[in_arm]
    lv <- as.character(t$level)
    xn <- suppressWarnings(as.numeric(x))
    ln <- suppressWarnings(as.numeric(lv))
    hit <- if (!is.na(ln) && !anyNA(xn)) xn == ln else x == lv
    return(c(mean(hit), NA, NA))
  }
  if (stat == "sum") return(c(sum(column(raw, t$column, spec)[in_arm]), NA, NA))
  treat <- raw$arm == spec$arms$treatment
  if (stat == "fisher_p") {
    x <- column(raw, t$column, spec)
    if (!all(x %in% c(0, 1))) fail(t$name, ": ", t$column, " must be 0/1 for fisher_p")
    tab <- table(factor(x, levels = c(0, 1)), factor(treat, levels = c(FALSE, TRUE)))
    return(c(fisher.test(tab)$p.value, NA, NA))
  }
  if (stat %in% c("icer", "prob_cost_effective")) {
    cost <- column(raw, "cost_total_aud", spec)
    qaly <- column(raw, "qaly_12m", spec)
    if (stat == "icer") {
      dc <- mean(cost[treat]) - mean(cost[!treat])
      dq <- mean(qaly[treat]) - mean(qaly[!treat])
      return(c(dc / dq, NA, NA))
    }
    if (is.null(t$wtp)) fail(t$name, ": prob_cost_effective needs wtp")
    return(structure(c(prob_cost_effective(cost, qaly, treat, as.numeric(t$wtp)), NA, NA),
                     bootstrap = TRUE))
  }
  if (is.null(t$outcome)) fail(t$name, ": statistic ", stat, " needs an outcome")
  d <- outcome_data(raw, spec, t$outcome)
  if (stat == "events") return(c(sum(d$event[in_arm]), NA, NA))
  if (stat == "km_median") {
    fit <- survfit(Surv(time, event) ~ 1, data = d[in_arm, , drop = FALSE],
                   conf.type = conv$conf_type, conf.int = 1 - alpha)
    q <- quantile(fit, probs = 0.5, conf.int = TRUE)
    return(unname(c(q$quantile[1], q$lower[1], q$upper[1])))
  }
  if (stat %in% c("cox_hr", "cox_p")) {
    ns <- length(unlist(conv$strata))
    rhs <- "treat"
    if (ns > 0) rhs <- paste0(rhs, " + strata(", paste0("S", seq_len(ns), collapse = ", "), ")")
    f <- as.formula(paste("Surv(time, event) ~", rhs), env = environment())
    fit <- coxph(f, data = d, ties = conv$ties)
    if (!is.null(fit$fail)) fail(t$name, ": coxph failed: ", fit$fail)
    co <- summary(fit)$coefficients
    if (stat == "cox_p") return(c(co["treat", "Pr(>|z|)"], NA, NA))
    b <- co["treat", "coef"]
    se <- co["treat", "se(coef)"]
    z <- qnorm(1 - alpha / 2)
    return(c(exp(b), exp(b - z * se), exp(b + z * se)))
  }
  fail(t$name, ": unknown statistic '", stat, "'")
}

# Non-parametric bootstrap within arms: share of replicates with positive incremental net
# monetary benefit at wtp. Seeded here, so the value does not depend on the order of targets.
prob_cost_effective <- function(cost, qaly, treat, wtp) {
  set.seed(BOOT_SEED, kind = "Mersenne-Twister", normal.kind = "Inversion",
           sample.kind = "Rejection")
  it <- which(treat)
  ic <- which(!treat)
  if (!length(it) || !length(ic)) fail("prob_cost_effective: both arms need participants")
  nmb <- vapply(seq_len(BOOT_RESAMPLES), function(b) {
    st <- it[sample.int(length(it), length(it), replace = TRUE)]
    sc <- ic[sample.int(length(ic), length(ic), replace = TRUE)]
    wtp * (mean(qaly[st]) - mean(qaly[sc])) - (mean(cost[st]) - mean(cost[sc]))
  }, numeric(1))
  mean(nmb > 0)
}

rounds <- function(x, ref, precision) !is.na(x) && is.finite(x) && abs(x - ref) < precision / 2

check_twin <- function(spec, root) {
  raw <- read_twin(spec, root)
  targets <- lapply(spec$targets, function(t) {
    v <- target_value(t, raw, spec)
    boot <- isTRUE(attr(v, "bootstrap"))
    pub <- as.numeric(t$value)
    prec <- as.numeric(t$precision)
    ci <- if (is.null(t$ci)) NULL else as.numeric(unlist(t$ci))
    ok <- if (boot) {
      !is.na(v[1]) && abs(v[1] - pub) <= BOOT_TOL + 1e-12
    } else {
      rounds(v[1], pub, prec)
    }
    if (!is.null(ci)) ok <- ok && rounds(v[2], ci[1], prec) && rounds(v[3], ci[2], prec)
    out <- list(name = t$name, statistic = t$statistic,
                estimate = num(v[1]), lower = num(v[2]), upper = num(v[3]),
                published = num(pub),
                published_ci = if (is.null(ci)) NULL else list(num(ci[1]), num(ci[2])),
                precision = num(prec), rounds_to_published = ok)
    if (boot) {
      out$bootstrap <- list(resamples = BOOT_RESAMPLES, seed = BOOT_SEED,
                            rng = I(RNGkind()), wtp = num(t$wtp), tolerance = num(BOOT_TOL),
                            within_arm = TRUE)
    }
    out
  })
  list(spec = spec$name, spec_sha256 = spec$spec_sha256, csv = spec$csv,
       csv_md5 = unname(tools::md5sum(file.path(root, spec$csv))),
       conventions = list(conf_type = spec$conventions$conf_type, ties = spec$conventions$ties,
                          strata = I(as.character(unlist(spec$conventions$strata))),
                          alpha = num(spec$conventions$alpha)),
       r_version = R.version.string,
       survival_version = as.character(packageVersion("survival")),
       targets = targets)
}

status <- tryCatch({
  main()
  0L
}, error = function(e) {
  message("twin_check.R FAILED: ", conditionMessage(e))
  1L
})
quit(save = "no", status = status)
