#!/usr/bin/env Rscript
# Reference results for `walkback competing` from R's cmprsk and survival packages.
#
#   Rscript tests/reference/competing/competing.R      (works from any directory)
#
# Real data shipped with survival, two groups each, tied times throughout:
#   mgus2  progression to plasma-cell malignancy (pcm) vs death, by sex (text codes)
#   pbc    transplant (1) vs death (2), censored 0, by trt (rows with NA trt dropped)
#   colon  recurrence (1) vs death without recurrence (2), Obs vs Lev+5FU
# For each case: cmprsk::cuminc (estimate and Gray's variance at `times`, the full curve at the
# cause's times, Gray's test for the cause, with strata and rho where given), a pointwise CI
# from survival's own survfit_confint(F, sqrt(var), logse = FALSE), survival's multi-state
# survfit (pstate and its infinitesimal-jackknife std.err, for comparison), cmprsk::crr (arm as
# the only covariate; with `adjust`, also arm + those columns), and the cause-specific coxph
# (other causes censored).
# Writes inputs/<data>.csv and expected/<id>.json. Warnings are errors.

local({
  args <- commandArgs(trailingOnly = FALSE)
  here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
  source(file.path(here, "../common.R"))
})

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

dataset <- function(id) {
  switch(id,
    mgus2 = {
      d <- survival::mgus2
      etime <- ifelse(d$pstat == 0, d$futime, d$ptime)
      event <- ifelse(d$pstat == 0, ifelse(d$death == 1, "death", "censor"), "pcm")
      data.frame(etime = etime, event = event, sex = as.character(d$sex), age = d$age)
    },
    pbc = {
      d <- survival::pbc
      d <- d[!is.na(d$trt), ]
      data.frame(time = d$time, status = d$status, trt = d$trt, edema = d$edema,
                 sex = as.character(d$sex))
    },
    colon = {
      d <- survival::colon
      rec <- d[d$etype == 1, ]
      dth <- d[d$etype == 2, ]
      dth <- dth[match(rec$id, dth$id), ]
      status <- ifelse(rec$status == 1, 1, ifelse(dth$status == 1, 2, 0))
      time <- ifelse(rec$status == 1, rec$time, dth$time)
      data.frame(time = time, status = status, rx = as.character(rec$rx), sex = rec$sex,
                 node4 = rec$node4)
    },
    fail("unknown dataset ", id)
  )
}

case <- function(id, data, time, event, arm, treatment, control, cause, censor, times,
                 strata = NULL, rho = 0, conf_type = "log-log", alpha = 0.05, ties = "efron",
                 adjust = NULL) {
  list(id = id, data = data, time_col = time, event_col = event, arm_col = arm,
       treatment = treatment, control = control, cause = cause, censor_value = censor,
       times = times, strata = strata, rho = rho, conf_type = conf_type, alpha = alpha,
       ties = ties, adjust = adjust)
}

CASES <- list(
  case("mgus2_pcm", "mgus2", "etime", "event", "sex", "M", "F", "pcm", "censor",
       c(60, 120, 240, 360), adjust = "age"),
  case("mgus2_death_rho1", "mgus2", "etime", "event", "sex", "M", "F", "death", "censor",
       c(12, 60, 120, 240), rho = 1, conf_type = "log", ties = "breslow"),
  case("pbc_death", "pbc", "time", "status", "trt", "2", "1", "2", "0",
       c(365, 1000, 2000, 3000, 4000, 5000)),
  case("pbc_transplant_strata", "pbc", "time", "status", "trt", "2", "1", "1", "0",
       c(1000, 2000, 3000), strata = "edema", alpha = 0.1),
  case("colon_recurrence", "colon", "time", "status", "rx", "Lev+5FU", "Obs", "1", "0",
       c(365, 730, 1825, 2920)),
  case("colon_death_plain", "colon", "time", "status", "rx", "Lev+5FU", "Obs", "2", "0",
       c(365, 1825, 2920), conf_type = "plain")
)

nums <- function(x) I(lapply(x, num))

run_case <- function(cs, raw) {
  d <- raw[as.character(raw[[cs$arm_col]]) %in% c(cs$treatment, cs$control), ]
  time <- d[[cs$time_col]]
  status <- as.character(d[[cs$event_col]])
  arm <- as.character(d[[cs$arm_col]])
  level <- 1 - cs$alpha
  strata <- if (is.null(cs$strata)) NULL else as.character(d[[cs$strata]])
  ci <- if (is.null(strata)) {
    cuminc(time, status, arm, rho = cs$rho, cencode = cs$censor_value)
  } else {
    cuminc(time, status, arm, strata, rho = cs$rho, cencode = cs$censor_value)
  }
  tests <- ci$Tests
  arms <- list(treatment = cs$treatment, control = cs$control)
  cif <- list()
  curve <- list()
  sfit <- list()
  for (key in names(arms)) {
    nm <- paste(arms[[key]], cs$cause)
    tp <- timepoints(ci[nm], cs$times)
    est <- as.numeric(tp$est[1, ])
    v <- as.numeric(tp$var[1, ])
    lim <- survival:::survfit_confint(est, sqrt(v), logse = FALSE, conf.type = cs$conf_type,
                                      conf.int = level)
    cif[[key]] <- lapply(seq_along(cs$times), function(i) list(
      time = num(cs$times[i]), cif = num(est[i]), variance = num(v[i]),
      lower = num(lim$lower[i]), upper = num(lim$upper[i])))
    rows <- arm == arms[[key]]
    ct <- sort(unique(time[rows & status == cs$cause]))
    tc <- timepoints(ci[nm], ct)
    curve[[key]] <- list(time = nums(ct), cif = nums(as.numeric(tc$est[1, ])),
                         variance = nums(as.numeric(tc$var[1, ])))
    # survival's multi-state Aalen-Johansen on the same rows (censoring code first = s0)
    lev <- c(cs$censor_value, setdiff(sort(unique(status)), cs$censor_value))
    sf <- survfit(Surv(time[rows], factor(status[rows], levels = lev)) ~ 1)
    inside <- cs$times <= max(time[rows])
    s <- summary(sf, times = cs$times[inside])
    j <- match(cs$cause, sf$states)
    sfit[[key]] <- lapply(seq_along(s$time), function(i) list(
      time = num(s$time[i]), pstate = num(s$pstate[i, j]), std_err = num(s$std.err[i, j])))
  }
  x <- as.numeric(arm == cs$treatment)
  fg <- crr(time, status, cbind(arm = x), failcode = cs$cause, cencode = cs$censor_value)
  if (!fg$converged) fail(cs$id, ": crr did not converge")
  b <- unname(fg$coef[1])
  se <- sqrt(fg$var[1, 1])
  z <- qnorm(1 - cs$alpha / 2)
  ev <- as.integer(status == cs$cause)
  csf <- if (is.null(strata)) {
    coxph(Surv(time, ev) ~ x, ties = cs$ties)
  } else {
    coxph(Surv(time, ev) ~ x + strata(strata), ties = cs$ties)
  }
  adjusted <- NULL
  if (!is.null(cs$adjust)) {  # crr with further covariates (the Python API's fine_gray)
    fa <- crr(time, status, cbind(arm = x, as.matrix(d[, cs$adjust, drop = FALSE])),
              failcode = cs$cause, cencode = cs$censor_value)
    if (!fa$converged) fail(cs$id, ": adjusted crr did not converge")
    adjusted <- list(covariates = I(c("arm", cs$adjust)), coef = nums(unname(fa$coef)),
                     se = nums(sqrt(diag(fa$var))), loglik = num(fa$loglik))
  }
  cb <- unname(coef(csf)[1])
  cse <- sqrt(vcov(csf)[1, 1])
  settings <- cs[c("time_col", "event_col", "arm_col", "treatment", "control", "cause",
                   "censor_value", "conf_type", "ties")]
  settings$strata <- if (is.null(cs$strata)) NULL else cs$strata
  settings$times <- nums(cs$times)
  settings$alpha <- num(cs$alpha)
  settings$rho <- num(cs$rho)
  list(
    id = cs$id, file = paste0("inputs/", cs$data, ".csv"), settings = settings,
    n = list(treatment = int(sum(arm == cs$treatment)), control = int(sum(arm == cs$control))),
    cif = cif, curve = curve, survfit = sfit,
    gray = list(chisq = num(tests[cs$cause, "stat"]), p = num(tests[cs$cause, "pv"]),
                df = int(tests[cs$cause, "df"])),
    fine_gray = list(coef = num(b), se = num(se), estimate = num(exp(b)),
                     lower = num(exp(b - z * se)), upper = num(exp(b + z * se)),
                     p = num(2 * pnorm(-abs(b) / se)), loglik = num(fg$loglik)),
    fine_gray_adjusted = adjusted,
    cause_specific_hr = list(coef = num(cb), se = num(cse), estimate = num(exp(cb)),
                             lower = num(exp(cb - z * cse)), upper = num(exp(cb + z * cse)),
                             p = num(2 * pnorm(-abs(cb) / cse)))
  )
}

main <- function() {
  here <- script_dir()
  dir.create(file.path(here, "inputs"), showWarnings = FALSE)
  dir.create(file.path(here, "expected"), showWarnings = FALSE)
  raws <- list()
  for (id in unique(vapply(CASES, function(cs) cs$data, ""))) {
    raws[[id]] <- dataset(id)
    write_plain_csv(raws[[id]], file.path(here, "inputs", paste0(id, ".csv")))
  }
  for (cs in CASES) {
    res <- run_case(cs, raws[[cs$data]])
    write_json(res, file.path(here, "expected", paste0(cs$id, ".json")), auto_unbox = TRUE,
               digits = NA, na = "null", null = "null", pretty = TRUE, json_verbatim = TRUE)
    message(sprintf("%-22s Gray %.4f  Fine-Gray HR %.4f  cause-specific HR %.4f", cs$id,
                    as.numeric(res$gray$chisq), as.numeric(res$fine_gray$estimate),
                    as.numeric(res$cause_specific_hr$estimate)))
  }
}

main()
