#!/usr/bin/env Rscript
# (start, stop] data, recurrent events, case weights, delayed entry and robust (cluster) variances.
#   Rscript tests/reference/counting/counting.R   -> inputs/<case>.csv and expected.json
# Real data shipped with R survival: bladder2 (also with near-tied times, for timefix), cgd (also
# with seeded per-participant weights and cluster(id) together), heart (jasa start/stop), rhDNase in counting
# form (as in the survival vignette "other"), mgus2 on the age scale (delayed entry: entry age at
# diagnosis), rotterdam with inverse-probability weights (a logistic propensity model, non-integer
# weights: R's robust variance by default), veteran with seeded integer frequency weights and with
# a seeded entry time, and lung (right-censored) clustered by institution. For each case: coxph (arm alone and adjusted; efron and breslow) with the
# case's weights, strata and cluster; survfit per arm (Kaplan-Meier, Nelson-Aalen, their SEs,
# median, survival at three times); survdiff where R defines it (no start, no weights); with an id, the mean cumulative function per arm
# (survfit(..., id = id, robust = TRUE): cumhaz and std.chaz).
local({
  args <- commandArgs(trailingOnly = FALSE)
  here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
  source(file.path(here, "../common.R"))
})
suppressPackageStartupMessages({ library(survival); library(jsonlite) })

rhdnase_counting <- function() {
  # the survival "other" vignette's construction: an infection ends an at-risk interval, and the
  # subject is not at risk again until 6 days after the end of intravenous antibiotics
  first <- subset(rhDNase, !duplicated(id))
  d <- tmerge(first, first, id = id, tstop = as.numeric(end.dt - entry.dt))
  temp.end <- with(rhDNase, pmin(ivstop + 6, end.dt - entry.dt))
  d <- tmerge(d, rhDNase, id = id, infect = event(ivstart), end = event(temp.end))
  d <- subset(d, (infect == 1 | end == 0))
  data.frame(id = d$id, trt = d$trt, fev = d$fev, tstart = d$tstart, tstop = d$tstop,
             infect = d$infect)
}

rotterdam_ipw <- function() {
  r <- rotterdam[, c("pid", "age", "meno", "nodes", "grade", "hormon", "rtime", "recur")]
  ps <- fitted(glm(hormon ~ age + meno + nodes + grade, family = binomial, data = r))
  r$ipw <- ifelse(r$hormon == 1, 1 / ps, 1 / (1 - ps))
  r$ipw <- signif(r$ipw, 12)  # the CSV holds exactly these numbers
  r
}

veteran_weighted <- function() {
  set.seed(16)
  v <- veteran
  v$freq <- sample(1:3, nrow(v), replace = TRUE)
  v
}

veteran_entry <- function() {
  set.seed(7)
  v <- veteran
  v$entry <- round(v$time * runif(nrow(v), 0, 0.6), 2)
  v
}

bladder2_neartie <- function() {
  # stop times of the even ids' event rows moved by 2e-9 relative: below aeqSurv's tolerance, so
  # R's timefix makes them equal to the untouched times (and to the next row's start) again
  b <- bladder2[, c("id", "rx", "number", "size", "start", "stop", "event")]
  nudge <- b$event == 1 & b$id %% 2 == 0
  b$stop[nudge] <- b$stop[nudge] * (1 + 2e-9)
  b
}

cgd_weighted <- function() {
  # seeded non-integer weights per participant (as from an IPW model), with cluster(id)
  set.seed(21)
  d <- cgd[, c("id", "treat", "inherit", "age", "propylac", "tstart", "tstop", "status")]
  d$treat <- as.character(d$treat); d$inherit <- as.character(d$inherit)
  w <- round(runif(length(unique(d$id)), 0.5, 2), 3)
  d$w <- w[match(d$id, sort(unique(d$id)))]
  d
}

lung_inst <- function() {
  # right-censored, clustered by institution (cluster(inst)): no start, no weights
  l <- lung[!is.na(lung$inst) & !is.na(lung$ph.ecog), c("inst", "time", "status", "sex", "age",
                                                       "ph.ecog")]
  l$dead <- l$status - 1
  l
}

mgus2_age <- function() {
  m <- mgus2[!is.na(mgus2$hgb), c("id", "age", "sex", "hgb", "futime", "death")]
  m$sex <- as.character(m$sex)
  m$exit_age <- m$age + m$futime / 12
  m
}

CASES <- list(
  list(id = "bladder2", data = function() bladder2[, c("id", "rx", "number", "size", "start",
       "stop", "event")], start = "start", stop = "stop", event = "event", arm = "rx",
       control = "1", covs = c("size", "number"), id_col = "id", cluster = "id"),
  list(id = "bladder2_neartie", data = bladder2_neartie, start = "start", stop = "stop",
       event = "event", arm = "rx", control = "1", covs = c("size", "number"), id_col = "id",
       cluster = "id"),
  list(id = "cgd", data = function() {
         d <- cgd[, c("id", "treat", "inherit", "age", "propylac", "tstart", "tstop", "status")]
         d$treat <- as.character(d$treat); d$inherit <- as.character(d$inherit); d },
       start = "tstart", stop = "tstop", event = "status", arm = "treat", control = "placebo",
       covs = c("age", "propylac"), strata = "inherit", id_col = "id", cluster = "id"),
  list(id = "cgd_weighted", data = cgd_weighted, start = "tstart", stop = "tstop",
       event = "status", arm = "treat", control = "placebo", covs = c("age", "propylac"),
       strata = "inherit", id_col = "id", cluster = "id", weights = "w"),
  list(id = "heart", data = function() {
         h <- heart; h$transplant <- as.integer(as.character(h$transplant)); h },
       start = "start", stop = "stop", event = "event", arm = "surgery", control = "0",
       covs = c("age", "transplant"), id_col = "id", cluster = "id"),
  list(id = "rhdnase", data = rhdnase_counting, start = "tstart", stop = "tstop",
       event = "infect", arm = "trt", control = "0", covs = c("fev"), id_col = "id",
       cluster = "id"),
  list(id = "rotterdam_ipw", data = rotterdam_ipw, stop = "rtime", event = "recur",
       arm = "hormon", control = "0", covs = c("age", "nodes"), weights = "ipw"),
  list(id = "veteran_freq", data = veteran_weighted, stop = "time", event = "status",
       arm = "trt", control = "1", covs = c("karno"), weights = "freq"),
  list(id = "veteran_entry", data = veteran_entry, start = "entry", stop = "time",
       event = "status", arm = "trt", control = "1", covs = c("karno"), strata = "celltype"),
  list(id = "lung_inst", data = lung_inst, stop = "time", event = "dead", arm = "sex",
       control = "1", covs = c("age", "ph.ecog"), cluster = "inst"),
  list(id = "mgus2_age", data = mgus2_age, start = "age", stop = "exit_age", event = "death",
       arm = "sex", control = "F", covs = c("hgb"))
)

vec <- function(x) lapply(unname(as.numeric(x)), num)

surv_lhs <- function(cs) {
  if (is.null(cs$start)) paste0("Surv(", cs$stop, ", ", cs$event, ")")
  else paste0("Surv(", cs$start, ", ", cs$stop, ", ", cs$event, ")")
}

cox_fits <- function(cs, d) {
  arm <- paste0("I(", cs$arm, " != '", cs$control, "')")
  out <- list()
  for (model in c("arm", "adjusted")) for (ties in c("efron", "breslow")) {
    rhs <- if (model == "arm") arm else paste(c(arm, cs$covs), collapse = " + ")
    if (!is.null(cs$strata)) rhs <- paste0(rhs, " + strata(", cs$strata, ")")
    if (!is.null(cs$cluster)) rhs <- paste0(rhs, " + cluster(", cs$cluster, ")")
    f <- as.formula(paste(surv_lhs(cs), "~", rhs))
    fit <- if (is.null(cs$weights)) coxph(f, data = d, ties = ties)
           else coxph(f, data = d, ties = ties, weights = d[[cs$weights]])
    robust <- !is.null(fit$naive.var)
    out[[length(out) + 1]] <- list(
      model = model, ties = ties, robust = robust,
      coef = vec(coef(fit)), se = vec(sqrt(diag(fit$var))),
      se_model = vec(sqrt(diag(if (robust) fit$naive.var else fit$var))),
      loglik = vec(fit$loglik), score = num(fit$score), wald = num(fit$wald.test),
      rscore = if (robust) num(fit$rscore) else num(NULL), n = int(fit$n),
      nevent = int(fit$nevent))
  }
  out
}

curve <- function(cs, d, robust = NULL) {
  f <- as.formula(paste(surv_lhs(cs), "~ 1"))
  args <- list(formula = f, data = d)
  if (!is.null(cs$weights)) args$weights <- d[[cs$weights]]
  if (!is.null(cs$id_col)) args$id <- d[[cs$id_col]]
  if (!is.null(cs$cluster) && !identical(cs$cluster, cs$id_col)) args$cluster <- d[[cs$cluster]]
  if (!is.null(robust)) args$robust <- robust
  do.call(survfit, args)
}

km_arm <- function(cs, d, times) {
  fit <- curve(cs, d)
  se_log <- if (fit$logse) fit$std.err else ifelse(fit$std.err == 0, 0, fit$std.err / fit$surv)
  q <- quantile(fit, 0.5)
  s <- summary(fit, times = times, extend = TRUE)
  list(time = vec(fit$time), n_risk = vec(fit$n.risk), n_event = vec(fit$n.event),
       n_censor = vec(fit$n.censor), surv = vec(fit$surv), std_err = vec(se_log),
       lower = vec(fit$lower), upper = vec(fit$upper), cumhaz = vec(fit$cumhaz),
       std_chaz = vec(fit$std.chaz), robust = !fit$logse,
       median = list(estimate = num(q$quantile), lower = num(q$lower), upper = num(q$upper)),
       at = list(time = vec(s$time), surv = vec(s$surv), lower = vec(s$lower),
                 upper = vec(s$upper), n_risk = vec(s$n.risk)))
}

mcf_arm <- function(cs, d) {
  fit <- curve(cs, d, robust = TRUE)
  list(time = vec(fit$time), n_risk = vec(fit$n.risk), n_event = vec(fit$n.event),
       cumhaz = vec(fit$cumhaz), std_chaz = vec(fit$std.chaz))
}

main <- function() {
  here <- script_dir()
  out <- list()
  for (cs in CASES) {
    d <- cs$data()
    write_plain_csv(d, file.path(here, "inputs", paste0(cs$id, ".csv")))
    d <- read.csv(file.path(here, "inputs", paste0(cs$id, ".csv")), stringsAsFactors = FALSE)
    times <- unname(quantile(d[[cs$stop]], c(0.25, 0.5, 0.75), type = 1))
    arms <- sort(unique(as.character(d[[cs$arm]])))
    km <- list(); mcf <- list()
    for (a in arms) {
      da <- d[as.character(d[[cs$arm]]) == a, ]
      km[[a]] <- km_arm(cs, da, times)
      if (!is.null(cs$id_col) && !is.null(cs$start)) mcf[[a]] <- mcf_arm(cs, da)
    }
    res <- list(case = cs[c("stop", "event", "arm", "control")], times = vec(times),
                cox = cox_fits(cs, d), km = km)
    for (k in c("start", "covs", "strata", "id_col", "cluster", "weights"))
      if (!is.null(cs[[k]])) res$case[[k]] <- cs[[k]]
    if (length(mcf)) res$mcf <- mcf
    if (is.null(cs$start) && is.null(cs$weights)) {  # survdiff is defined only here
      sd <- survdiff(as.formula(paste(surv_lhs(cs), "~", cs$arm)), data = d)
      res$logrank <- list(chisq = num(sd$chisq), observed = vec(sd$obs), expected = vec(sd$exp))
    }
    out[[cs$id]] <- res
  }
  write_json(out, file.path(here, "expected.json"), auto_unbox = TRUE, digits = NA,
             pretty = TRUE, json_verbatim = TRUE)
}
main()
