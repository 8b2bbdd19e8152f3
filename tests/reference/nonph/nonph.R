#!/usr/bin/env Rscript
# Reference results for tests under non-proportional hazards: weighted log-rank tests
# (Fleming-Harrington, Gehan, Tarone-Ware, Peto), MaxCombo and milestone survival differences.
#
#   Rscript tests/reference/nonph/nonph.R      (works from any directory)
#
# 1. exports datasets shipped with survival to inputs/<id>.csv (time, event 0/1, group[, strata])
# 2. writes expected/<id>.json: survdiff(rho = 0) and survdiff(rho = 1); U, V, chisq, z of each
#    weighted test computed here in plain R from survfit() of the pooled data within strata
#    (n.risk, n.event, left-continuous surv), checked against survdiff where they coincide;
#    MaxCombo z's, correlation and p (mvtnorm::pmvnorm); milestone differences from
#    summary(survfit(...), times = , extend = TRUE)$surv and $std.err.
#
# Any error -- and any warning, which is promoted to an error -- stops the script.

local({
  args <- commandArgs(trailingOnly = FALSE)
  here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
  source(file.path(here, "../common.R"))
})

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
  library(mvtnorm)
})

# k-th repeat (k = 0, 1, ... in row order) of time t becomes t + k * step * t
perturb_ties <- function(t, step) {
  k <- ave(seq_along(t), t, FUN = seq_along) - 1
  t + k * step * t
}

CASES <- list(
  list(id = "veteran", source = "veteran; group trt; strata celltype", treatment = "2",
       control = "1", times = c(30, 90, 180, 365, 600, 900)),
  list(id = "lung", source = "lung; event status == 2; group sex", treatment = "2",
       control = "1", times = c(180, 365, 730, 1000)),
  list(id = "colon", source = "colon, etype == 2 (death); group rx (3 arms); strata sex",
       treatment = "Lev+5FU", control = "Obs", times = c(365, 1095, 1825, 2920)),
  list(id = "gbsg", source = "gbsg; time rfstime; group hormon; strata grade", treatment = "1",
       control = "0", times = c(365, 730, 1825, 2600)),
  list(id = "pbc", source = "pbc with trt; event status == 2; group trt", treatment = "2",
       control = "1", times = c(730, 1825, 3650)),
  list(id = "myeloid", source = "myeloid; time futime, event death; group trt",
       treatment = "B", control = "A", times = c(180, 365, 730, 1825)),
  list(id = "rotterdam", source = "rotterdam; time dtime, event death; group chemo; strata meno",
       treatment = "1", control = "0", times = c(1825, 3650, 6500)),
  list(id = "ovarian", source = "ovarian; time futime, event fustat; group rx", treatment = "2",
       control = "1", times = c(180, 365, 730, 1150)),
  list(id = "aml", source = "aml; group x", treatment = "Maintained", control = "Nonmaintained",
       times = c(10, 20, 30, 45, 50)),
  list(id = "veteran_neartie",
       source = "veteran with ties pulled apart below aeqSurv's tolerance (t + k 1e-11 t)",
       treatment = "2", control = "1", times = c(30, 90, 180))
)

export_data <- function(id) {
  d <- switch(id,
    veteran = with(veteran, data.frame(time, event = status, group = trt, strata = celltype)),
    lung = with(lung, data.frame(time, event = 1 * (status == 2), group = sex)),
    colon = with(colon[colon$etype == 2, ],
                 data.frame(time, event = status, group = as.character(rx), strata = sex)),
    gbsg = with(gbsg, data.frame(time = rfstime, event = status, group = hormon, strata = grade)),
    pbc = with(pbc[!is.na(pbc$trt), ], data.frame(time, event = 1 * (status == 2), group = trt)),
    myeloid = with(myeloid, data.frame(time = futime, event = death, group = trt)),
    rotterdam = with(rotterdam,
                     data.frame(time = dtime, event = death, group = chemo, strata = meno)),
    ovarian = with(ovarian, data.frame(time = futime, event = fustat, group = rx)),
    aml = with(aml, data.frame(time, event = status, group = as.character(x))),
    veteran_neartie = with(veteran, data.frame(time = perturb_ties(time, 1e-11),
                                               event = status, group = trt)),
    fail("unknown case ", id)
  )
  if ("strata" %in% names(d)) d$strata <- as.character(d$strata)
  d
}

# ---------------------------------------------------------------------------------------
# per event time, within strata, from survfit() of the pooled data
# ---------------------------------------------------------------------------------------
event_table <- function(time, event, group, strata, levels) {
  out <- NULL
  for (s in sort(unique(strata))) {
    i <- strata == s
    ti <- time[i]; ei <- event[i]; gi <- group[i]
    fit <- survfit(Surv(ti, ei) ~ 1)
    ev <- fit$n.event > 0
    tt <- fit$time[ev]
    km_left <- c(1, head(fit$surv, -1))[ev]
    peto <- cumprod(1 - fit$n.event / (fit$n.risk + 1))
    peto_left <- c(1, head(peto, -1))[ev]
    ng <- matrix(vapply(levels, function(g) vapply(tt, function(u) sum(ti >= u & gi == g), 0),
                        numeric(length(tt))), nrow = length(tt))
    dg <- matrix(vapply(levels, function(g) vapply(tt, function(u)
      sum(ti == u & ei == 1 & gi == g), 0), numeric(length(tt))), nrow = length(tt))
    if (any(rowSums(ng) != fit$n.risk[ev]) || any(rowSums(dg) != fit$n.event[ev]))
      fail("own risk-set counts disagree with survfit in stratum ", s)
    part <- list(n = fit$n.risk[ev], d = fit$n.event[ev], km_left = km_left,
                 peto_left = peto_left, ng = ng, dg = dg)
    out <- if (is.null(out)) part else Map(function(a, b) if (is.matrix(a)) rbind(a, b)
                                           else c(a, b), out, part)
  }
  out
}

fh_weight <- function(P, rho, gamma) P$km_left^rho * (1 - P$km_left)^gamma

weight_of <- function(P, spec) {
  switch(spec$weights,
    fh = fh_weight(P, spec$rho, spec$gamma),
    gehan = P$n,
    "tarone-ware" = sqrt(P$n),
    peto = P$peto_left,
    fail("unknown weights ", spec$weights))
}

hyper <- function(P) ifelse(P$n > 1, P$d * (P$n - P$d) / (P$n - 1), 0)

weighted_test <- function(P, w) {
  k <- ncol(P$ng)
  frac <- P$ng / P$n
  obs <- colSums(w * P$dg)
  expct <- colSums(w * frac * P$d)
  h <- w^2 * hyper(P)
  V <- matrix(0, k, k)
  for (j in seq_along(P$n)) V <- V + h[j] * (diag(frac[j, ], k) - outer(frac[j, ], frac[j, ]))
  U <- obs - expct
  keep <- expct > 0
  u2 <- U[keep][-1]
  vv <- V[keep, keep, drop = FALSE][-1, -1, drop = FALSE]
  chisq <- sum(solve(vv, u2) * u2)
  df <- sum(keep) - 1
  z <- if (k == 2) U[2] / sqrt(V[2, 2]) else NA
  list(U = U, V = V, observed = obs, expected = expct, chisq = chisq, df = df, z = z,
       p = pchisq(chisq, df, lower.tail = FALSE))
}

COMBOS <- list(c(0, 0), c(0, 1), c(1, 0), c(1, 1))

maxcombo_r <- function(P) {
  frac1 <- P$ng[, 2] / P$n
  v1 <- hyper(P) * frac1 * (1 - frac1)
  W <- sapply(COMBOS, function(cg) fh_weight(P, cg[1], cg[2]))
  u <- colSums(W * (P$dg[, 2] - frac1 * P$d))
  cv <- t(W) %*% (W * v1)
  z <- u / sqrt(diag(cv))
  corr <- cv / sqrt(outer(diag(cv), diag(cv)))
  m <- max(abs(z))
  set.seed(20240611)
  inside <- pmvnorm(lower = rep(-m, 4), upper = rep(m, 4), corr = corr,
                    algorithm = GenzBretz(maxpts = 1e7, abseps = 1e-8, releps = 0))
  best <- which.max(abs(z))
  list(
    z = num(z[best]), chisq = num(z[best]^2), p = num(1 - inside),
    p_error = num(attr(inside, "error")),
    winner = sprintf("fh(%g,%g)", COMBOS[[best]][1], COMBOS[[best]][2]),
    components = lapply(seq_along(COMBOS), function(a) list(
      name = sprintf("fh(%g,%g)", COMBOS[[a]][1], COMBOS[[a]][2]),
      z = num(z[a]), u = num(u[a]), variance = num(cv[a, a]))),
    correlation = lapply(seq_len(4), function(a) lapply(corr[a, ], num))
  )
}

TESTS <- list(
  list(weights = "fh", rho = 0, gamma = 0), list(weights = "fh", rho = 0, gamma = 1),
  list(weights = "fh", rho = 1, gamma = 1), list(weights = "fh", rho = 0.5, gamma = 0.5),
  list(weights = "fh", rho = 1, gamma = 0), list(weights = "gehan", rho = 0, gamma = 0),
  list(weights = "tarone-ware", rho = 0, gamma = 0), list(weights = "peto", rho = 0, gamma = 0)
)

nums <- function(x) lapply(unname(x), num)
close_enough <- function(a, b) all(abs(a - b) <= 1e-9 * pmax(1, abs(b)))

run_setting <- function(d, levels, stratified) {
  strata <- if (stratified) d$strata else rep("all", nrow(d))
  y <- aeqSurv(Surv(d$time, d$event))  # survdiff's timefix, applied to our own code too
  P <- event_table(y[, 1], y[, 2], as.character(d$group), strata, levels)
  g <- factor(as.character(d$group), levels = levels)
  sd <- lapply(c(rho0 = 0, rho1 = 1), function(rho) {
    f <- if (stratified) survdiff(Surv(time, event) ~ g + strata(strata), d, rho = rho)
         else survdiff(Surv(time, event) ~ g, d, rho = rho)
    obs <- if (is.matrix(f$obs)) rowSums(f$obs) else f$obs
    ex <- if (is.matrix(f$exp)) rowSums(f$exp) else f$exp
    list(chisq = f$chisq, observed = obs, expected = ex)
  })
  tests <- lapply(TESTS, function(spec) {
    r <- weighted_test(P, weight_of(P, spec))
    for (rho in c(0, 1)) {
      s <- sd[[paste0("rho", rho)]]
      if (spec$weights == "fh" && spec$rho == rho && spec$gamma == 0 &&
          !(close_enough(r$chisq, s$chisq) && close_enough(r$observed, s$observed) &&
            close_enough(r$expected, s$expected)))
        fail("own fh(", rho, ",0) disagrees with survdiff(rho = ", rho, ")")
    }
    name <- if (spec$weights == "fh") sprintf("fh(%g,%g)", spec$rho, spec$gamma) else spec$weights
    list(name = name, weights = spec$weights, rho = num(spec$rho), gamma = num(spec$gamma),
         z = num(r$z), chisq = num(r$chisq), df = r$df, p = num(r$p),
         U = nums(r$U), V = lapply(seq_len(nrow(r$V)), function(i) nums(r$V[i, ])),
         observed = nums(r$observed), expected = nums(r$expected))
  })
  list(
    stratified = stratified,
    survdiff = lapply(sd, function(s) list(chisq = num(s$chisq), observed = nums(s$observed),
                                           expected = nums(s$expected))),
    tests = tests,
    maxcombo = if (length(levels) == 2) maxcombo_r(P) else NULL
  )
}

milestones <- function(d, case) {
  arm <- function(label) {
    i <- as.character(d$group) == label
    s <- summary(survfit(Surv(time, event) ~ 1, d[i, ]), times = case$times, extend = TRUE)
    if (!identical(as.numeric(s$time), as.numeric(case$times))) fail("summary dropped times")
    list(surv = s$surv, se = s$std.err)
  }
  a <- arm(case$treatment); b <- arm(case$control)
  z <- qnorm(0.975)
  dif <- a$surv - b$surv
  se <- sqrt(a$se^2 + b$se^2)
  list(treatment = case$treatment, control = case$control, conf_level = num(0.95),
       rows = lapply(seq_along(case$times), function(i) list(
         time = num(case$times[i]), difference = num(dif[i]), se = num(se[i]),
         lower = num(dif[i] - z * se[i]), upper = num(dif[i] + z * se[i]))))
}

main <- function() {
  here <- script_dir()
  dir.create(file.path(here, "inputs"), showWarnings = FALSE)
  dir.create(file.path(here, "expected"), showWarnings = FALSE)
  written <- character(0)
  for (case in CASES) {
    d <- export_data(case$id)
    csv <- file.path("inputs", paste0(case$id, ".csv"))
    write_plain_csv(d, file.path(here, csv))
    levels <- sort(unique(as.character(d$group)))
    settings <- if ("strata" %in% names(d)) c(FALSE, TRUE) else FALSE
    res <- list(id = case$id, source = paste("R survival", case$source), file = csv,
                groups = levels, results = lapply(settings, function(s) run_setting(d, levels, s)),
                milestones = milestones(d, case))
    out <- file.path(here, "expected", paste0(case$id, ".json"))
    write_json(res, out, auto_unbox = TRUE, digits = NA, na = "null", null = "null",
               pretty = TRUE, json_verbatim = TRUE)
    written <- c(written, out)
    message(sprintf("%-16s n=%d groups=%d settings=%d", case$id, nrow(d), length(levels),
                    length(settings)))
  }
  stale <- setdiff(normalizePath(list.files(file.path(here, "expected"), "\\.json$",
                                            full.names = TRUE)), normalizePath(written))
  if (length(stale)) file.remove(stale)
  invisible(NULL)
}

main()
