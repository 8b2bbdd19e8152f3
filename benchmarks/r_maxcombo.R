# R loop doing the work `walkback montecarlo --test maxcombo` adds to a replicate: on a simulated
# WalkBack-shaped trial (r_sim.R, the same model as the engine), the four Fleming-Harrington tests
# G(0,0), G(0,1), G(1,0), G(1,1) and MaxCombo's p from their joint normal. survival's survdiff
# gives G(rho, 0) only, so the loop runs survdiff for rho = 0 and 1 and computes G(0,1), G(1,1) and
# the covariance of the four from survfit's pooled curve (S(t-) at each event time), then
# mvtnorm::pmvnorm (Genz-Bretz, abseps 1e-6) for p. Only the analysis is timed, not the
# simulation. Writes the mean MaxCombo p and the share with p < 0.05 as an agreement check.
#
#   Rscript benchmarks/r_maxcombo.R PARAMS.json REPLICATES OUT.json
suppressPackageStartupMessages({library(survival); library(jsonlite); library(mvtnorm)})
args <- commandArgs(trailingOnly = TRUE)
p <- fromJSON(args[1])
R <- as.integer(args[2])
set.seed(p$seed)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))),
                 "r_sim.R"))

maxcombo <- function(d) {
  z0 <- survdiff(Surv(time, event) ~ arm, data = d, rho = 0)   # the survdiff rho loop
  z1 <- survdiff(Surv(time, event) ~ arm, data = d, rho = 1)
  fit <- survfit(Surv(time, event) ~ 1, data = d)
  ev <- fit$n.event > 0
  s_left <- c(1, head(fit$surv, -1))[ev]
  n <- fit$n.risk[ev]
  dd <- fit$n.event[ev]
  tt <- fit$time[ev]
  t1 <- sort(d$time[d$arm == 1])
  n1 <- length(t1) - findInterval(tt, t1, left.open = TRUE)      # treated at risk at each time
  d1 <- tabulate(match(d$time[d$arm == 1 & d$event == 1], tt), length(tt))
  w <- cbind(1, 1 - s_left, s_left, s_left * (1 - s_left))     # G(0,0) G(0,1) G(1,0) G(1,1)
  v1 <- ifelse(n > 1, dd * (n - dd) / (n - 1), 0) * (n1 / n) * (1 - n1 / n)
  u <- colSums(w * (d1 - n1 * dd / n))
  cv <- crossprod(w, w * v1)
  z <- u / sqrt(diag(cv))
  # survdiff's chisq for rho = 0 and 1 equals the squares of G(0,0) and G(1,0): checked here
  stopifnot(abs(z[1]^2 / z0$chisq - 1) < 1e-8, abs(z[3]^2 / z1$chisq - 1) < 1e-8)
  m <- max(abs(z))
  1 - pmvnorm(lower = rep(-m, 4), upper = rep(m, 4), corr = cov2cor(cv),
              algorithm = GenzBretz(abseps = 1e-6))[1]
}

data <- lapply(seq_len(R + 1), function(i) simulate_trial(p))
invisible(maxcombo(data[[R + 1]]))          # warm-up
t0 <- proc.time()[["elapsed"]]
pv <- vapply(data[seq_len(R)], maxcombo, 0)
elapsed <- proc.time()[["elapsed"]] - t0
write_json(list(replicates = R, seconds = elapsed, per_replicate = elapsed / R,
                p_mean = mean(pv), reject = mean(pv < 0.05),
                r_version = R.version.string,
                survival_version = as.character(packageVersion("survival")),
                mvtnorm_version = as.character(packageVersion("mvtnorm"))),
           args[3], auto_unbox = TRUE, digits = NA)
