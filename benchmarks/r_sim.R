# A WalkBack-shaped trial simulated in R from the model in PARAMS (the JSON bench_montecarlo.py
# writes): recruitment order, stratified permuted blocks, monthly follow-up with dropout, Weibull
# PH primary outcome in whole days (with p$delay > 0: the HR applies only after p$delay days).
# Sourced by r_loop.R and r_maxcombo.R.
simulate_trial <- function(p) {
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
  h <- rexp(n)
  hd <- if (is.null(p$delay) || p$delay <= 0) 0 else (p$delay / p$scale)^p$shape
  h <- ifelse(treated & h > hd, hd + (h - hd) / p$hr, h)   # H0 before the delay, HR after
  latent <- p$scale * h^(1 / p$shape)
  event <- as.integer(ceiling(latent) <= fu)
  time <- ifelse(event == 1, ceiling(latent), fu)
  data.frame(time = time, event = event, arm = as.integer(treated))
}
