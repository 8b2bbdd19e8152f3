#!/usr/bin/env Rscript
# Reference results for walkback's adjusted survival curves (CoxResult.predict_survival and
# analyze --adjusted-at) from R's survival package.
#
#   Rscript tests/reference/adjusted/adjusted.R      (works from any directory)
#
# For each real trial shipped with survival (cases below) and each setting (ties, CI transform,
# optionally one stratum): coxph(Surv(time, status) ~ arm + covariates [+ strata(s)]) with the arm
# a factor (reference = control) and text or named-reference covariates as factors; then, for
# each arm, survfit(fit, newdata = <that arm, the other covariates at the case's values>) -- the
# whole curve (time, surv, std.err, lower, upper) and summary(sf, times, extend = TRUE) at the
# case's times. With strata and no strata value in newdata, R gives a curve per stratum. One
# setting is survfit(fit) without newdata (R's curve at fit$means). Writes inputs/<data>.csv and
# expected.json. Warnings are errors.

local({
  args <- commandArgs(trailingOnly = FALSE)
  here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
  source(file.path(here, "../common.R"))
})

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

dataset <- function(id) {
  switch(id,
    lung = {
      d <- survival::lung
      data.frame(time = d$time, status = d$status, sex = d$sex, age = d$age,
                 ph.ecog = d$ph.ecog, check.names = FALSE)
    },
    colon = {
      d <- survival::colon
      d <- d[d$etype == 2, ]
      data.frame(time = d$time, status = d$status, rx = as.character(d$rx), sex = d$sex,
                 age = d$age, node4 = d$node4)
    },
    veteran = {
      d <- survival::veteran
      data.frame(time = d$time, status = d$status, trt = d$trt,
                 celltype = as.character(d$celltype), karno = d$karno)
    },
    gbsg = {
      d <- survival::gbsg
      data.frame(rfstime = d$rfstime, status = d$status, hormon = d$hormon, grade = d$grade,
                 meno = d$meno, age = d$age)
    },
    fail("unknown dataset ", id)
  )
}

# covariates: "age" (a number) or "grade:1" (a factor with reference 1) or a text column
# (a factor, reference = first sorted level), as walkback's --covariate
case <- function(id, data, time, event, arm, control, treatments, covariates, at, times,
                 settings, strata = character(0), event_value = "1", censor_value = "0") {
  list(id = id, data = data, time_col = time, event_col = event, arm_col = arm,
       control = control, treatments = treatments, covariates = covariates, at = at,
       times = times, settings = settings, strata = strata, event_value = event_value,
       censor_value = censor_value)
}
setting <- function(ties, conf_type, stratum = NULL, newdata = TRUE)
  list(ties = ties, conf_type = conf_type, stratum = stratum, newdata = newdata)

CASES <- list(
  case("lung", "lung", "time", "status", "sex", "1", "2", c("age", "ph.ecog"),
       list(age = "60", ph.ecog = "1"), c(0, 90, 180, 365, 730, 1100),
       list(setting("efron", "log"), setting("breslow", "log-log")),
       event_value = "2", censor_value = "1"),
  case("colon", "colon", "time", "status", "rx", "Obs", c("Lev", "Lev+5FU"),
       c("age", "sex", "node4"), list(age = "60", sex = "1", node4 = "0"),
       c(365, 1000, 2000, 3500),
       list(setting("efron", "log"), setting("breslow", "plain"))),
  case("veteran", "veteran", "time", "status", "trt", "1", "2", c("celltype", "karno"),
       list(celltype = "large", karno = "60"), c(0.5, 30, 100, 365, 999),
       list(setting("efron", "log-log"), setting("breslow", "log"),
            setting("efron", "log", newdata = FALSE))),
  case("gbsg", "gbsg", "rfstime", "status", "hormon", "0", "1", c("age", "grade:1"),
       list(age = "50", grade = "2"), c(365, 1000, 2000, 2600),
       list(setting("efron", "log"), setting("breslow", "log-log", stratum = list(meno = "1"))),
       strata = "meno")
)

cov_name <- function(spec) sub(":.*$", "", spec)
cov_ref <- function(spec) if (grepl(":", spec)) sub("^.*:", "", spec) else NULL

# the model frame: complete rows, the arm and factor covariates as factors (reference first)
model_rows <- function(d, cs) {
  covs <- vapply(cs$covariates, cov_name, "")
  cols <- c(cs$time_col, cs$event_col, cs$arm_col, covs, cs$strata)
  d <- d[complete.cases(d[, cols, drop = FALSE]), , drop = FALSE]
  out <- data.frame(
    time = d[[cs$time_col]],
    status = as.integer(as.character(d[[cs$event_col]]) == cs$event_value),
    arm = factor(as.character(d[[cs$arm_col]]), levels = c(cs$control, cs$treatments))
  )
  for (spec in cs$covariates) {
    v <- d[[cov_name(spec)]]
    ref <- cov_ref(spec)
    if (is.numeric(v) && is.null(ref)) {
      out[[cov_name(spec)]] <- v
    } else {
      lv <- sort(unique(as.character(v)))
      if (!is.null(ref)) lv <- c(ref, setdiff(lv, ref))
      out[[cov_name(spec)]] <- factor(as.character(v), levels = lv)
    }
  }
  for (s in cs$strata) out[[s]] <- d[[s]]
  out
}

newdata_row <- function(fr, cs, arm, stratum) {
  nd <- data.frame(arm = factor(arm, levels = levels(fr$arm)))
  for (name in names(cs$at)) {
    v <- cs$at[[name]]
    nd[[name]] <- if (is.factor(fr[[name]])) factor(v, levels = levels(fr[[name]])) else
      as.numeric(v)
  }
  for (s in names(stratum)) nd[[s]] <- as.numeric(stratum[[s]])
  nd
}

nums <- function(x) I(lapply(as.numeric(x), num))
strata_of <- function(sf, n) {
  if (is.null(sf$strata)) return(NULL)
  I(rep(names(sf$strata), sf$strata))
}

curve_json <- function(sf, times, arm) {
  s <- summary(sf, times = times, extend = TRUE)
  list(arm = arm,
       curve = list(stratum = strata_of(sf), time = nums(sf$time), surv = nums(sf$surv),
                    std_err = nums(sf$std.err), lower = nums(sf$lower), upper = nums(sf$upper)),
       at = list(stratum = if (is.null(s$strata)) NULL else I(as.character(s$strata)),
                 time = nums(s$time), surv = nums(s$surv), std_err_surv = nums(s$std.err),
                 lower = nums(s$lower), upper = nums(s$upper)))
}

run_setting <- function(cs, fr, st) {
  rhs <- c("arm", vapply(cs$covariates, cov_name, ""))
  if (length(cs$strata)) rhs <- c(rhs, paste0("strata(", cs$strata, ")"))
  f <- as.formula(paste("Surv(time, status) ~", paste(rhs, collapse = " + ")))
  fit <- coxph(f, data = fr, ties = st$ties)
  if (!st$newdata) {
    curves <- list(curve_json(survfit(fit, conf.type = st$conf_type), cs$times, NULL))
  } else {
    curves <- lapply(c(cs$control, cs$treatments), function(a) {
      sf <- survfit(fit, newdata = newdata_row(fr, cs, a, st$stratum), conf.type = st$conf_type)
      curve_json(sf, cs$times, a)
    })
  }
  list(ties = st$ties, conf_type = st$conf_type, newdata = st$newdata,
       stratum = st$stratum, coef = nums(coef(fit)), means = nums(fit$means), curves = curves)
}

main <- function() {
  here <- script_dir()
  dir.create(file.path(here, "inputs"), showWarnings = FALSE)
  out <- list()
  for (cs in CASES) {
    raw <- dataset(cs$data)
    write_plain_csv(raw, file.path(here, "inputs", paste0(cs$data, ".csv")))
    fr <- model_rows(raw, cs)
    runs <- lapply(cs$settings, function(st) run_setting(cs, fr, st))
    out[[cs$id]] <- list(
      file = paste0("inputs/", cs$data, ".csv"),
      time_col = cs$time_col, event_col = cs$event_col, arm_col = cs$arm_col,
      control = cs$control, treatments = I(cs$treatments), covariates = I(cs$covariates),
      strata = I(cs$strata), event_value = cs$event_value, censor_value = cs$censor_value,
      at = cs$at, times = nums(cs$times), n_used = nrow(fr), settings = runs)
    message(sprintf("%-8s %d rows used, %d settings", cs$id, nrow(fr), length(runs)))
  }
  write_json(out, file.path(here, "expected.json"), auto_unbox = TRUE, digits = NA,
             na = "null", null = "null", pretty = FALSE, json_verbatim = TRUE)
}

main()
