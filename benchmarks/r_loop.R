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

one_trial <- function() {
  n <- p$n
  u <- sort(runif(n))
  k <- findInterval(u, p$cum_rate, rightmost.closed = TRUE, all.inside = TRUE)
  frac <- (u - p$cum_rate[k]) / (p$cum_rate[k + 1] - p$cum_rate[k])
  offset <- pmin(floor(p$rate_edges[k] + frac * (p$rate_edges[k + 1] - p$rate_edges[k])), p$window)
  months_final <- floor(floor((p$to_final - offset) / p$days_per_month) / p$every)
  admin <- pmin(pmax(months_final, ceiling(p$min_months / p$every)), p$max_months %/% p$every) * p$every
  cell <- findInterval(runif(n), c(0, p$cell_cum), rightmost.closed = TRUE, all.inside = TRUE)
  treated <- logical(n)
  for (c in unique(cell)) {           # permuted blocks within each stratum cell
    idx <- which(cell == c)
    seqs <- integer(0)
    while (length(seqs) < length(idx)) {
      size <- p$block_sizes[sample.int(length(p$block_sizes), 1)]
      seqs <- c(seqs, sample(rep(c(1L, 0L), c(size * p$ratio_t / p$ratio_sum,
                                              size - size * p$ratio_t / p$ratio_sum))))
    }
    treated[idx] <- seqs[seq_along(idx)] == 1L
  }
  months <- if (p$drop_scale > 0) pmin(admin, floor(rexp(n) * p$drop_scale /
                                                    (p$days_per_month * p$every)) * p$every) else admin
  fu <- round(months * p$days_per_month)
  latent <- p$scale * (rexp(n) / ifelse(treated, p$hr, 1))^(1 / p$shape)
  event <- as.integer(ceiling(latent) <= fu)
  time <- ifelse(event == 1, ceiling(latent), fu)
  arm <- as.integer(treated)
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
