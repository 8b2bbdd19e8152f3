# R survival loop doing the work of one `walkback montecarlo` replicate: simulate a WalkBack-shaped
# trial from the same model (recruitment order, stratified permuted blocks, monthly follow-up with
# dropout, Weibull PH primary outcome in whole days), then the two Kaplan-Meier medians with CIs
# (quantile.survfit), RMST per arm, the log-rank test (survdiff) and the Cox HR with its Wald
# CI. Parameters come from the JSON written by bench_montecarlo.py, so both simulate one model.
#
#   Rscript benchmarks/r_loop.R PARAMS.json REPLICATES OUT.json
suppressPackageStartupMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
p <- fromJSON(args[1])
R <- as.integer(args[2])
set.seed(p$seed)

source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))),
                 "r_sim.R"))

one_trial <- function() {
  d <- simulate_trial(p)
  time <- d$time
  event <- d$event
  arm <- d$arm
  fit <- survfit(Surv(time, event) ~ arm, conf.type = p$conf_type)
  q <- quantile(fit, 0.5)
  rm <- summary(fit, rmean = p$tau)$table[, c("rmean", "se(rmean)")]
  lr <- survdiff(Surv(time, event) ~ arm)$chisq
  cx <- coxph(Surv(time, event) ~ arm, ties = p$ties)
  ci <- exp(confint(cx))
  c(q$quantile, q$lower, q$upper, exp(coef(cx)), ci)
}

invisible(one_trial())                     # warm-up
t0 <- proc.time()[["elapsed"]]
res <- t(replicate(R, one_trial()))
elapsed <- proc.time()[["elapsed"]] - t0
write_json(list(replicates = R, seconds = elapsed, per_replicate = elapsed / R,
                hr_mean = mean(res[, 7]), median_control_mean = mean(res[, 1], na.rm = TRUE),
                median_treatment_mean = mean(res[, 2], na.rm = TRUE),
                r_version = R.version.string,
                survival_version = as.character(packageVersion("survival"))),
           args[3], auto_unbox = TRUE, digits = NA)
