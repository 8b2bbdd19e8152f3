#!/usr/bin/env Rscript
# Reference results from R's survival package for trials "as researchers have them":
# three or more arms, R's 1/2 status coding, missing covariate values, text factor
# covariates, near-tied times (with and without timefix), adjusted arm tests,
# concordance, median follow-up.
#
#   Rscript tests/reference/anytrial/anytrial.R      (works from any directory)
#
# 1. exports the datasets shipped with survival to inputs/<id>.csv (missing = empty cell)
# 2. reads the hand-written manifest cases.json
# 3. writes expected/<id>.json for every case and every setting
#
# Any error -- and any warning, which is promoted to an error -- stops the script
# with a non-zero exit status. Outputs are generated; never edit them by hand.

local({
  args <- commandArgs(trailingOnly = FALSE)
  here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
  source(file.path(here, "../common.R"))
})

main <- function() {
  suppressPackageStartupMessages({
    library(survival)
    library(jsonlite)
  })
  survdiff_tf <<- make_survdiff_tf()

  here <- script_dir()
  manifest <- file.path(here, "cases.json")
  if (!file.exists(manifest)) fail("cases.json not found in ", here)
  cases <- fromJSON(manifest, simplifyVector = FALSE)
  ids <- vapply(cases, function(cs) cs$id, "")
  if (anyDuplicated(ids)) fail("duplicate case ids in cases.json")
  dir.create(file.path(here, "inputs"), showWarnings = FALSE)
  dir.create(file.path(here, "expected"), showWarnings = FALSE)

  for (case in cases) export_case(case, here)

  written <- character(0)
  for (case in cases) {
    out <- file.path(here, "expected", paste0(case$id, ".json"))
    res <- run_case(case, here)
    write_json(res, out, auto_unbox = TRUE, digits = NA, na = "null", null = "null",
               pretty = TRUE, json_verbatim = TRUE)
    written <- c(written, out)
    message(sprintf("%-16s settings=%d", case$id, length(res$results)))
  }
  stale <- setdiff(normalizePath(list.files(file.path(here, "expected"), "\\.json$",
                                            full.names = TRUE)),
                   normalizePath(written))
  if (length(stale)) {
    file.remove(stale)
    message("removed stale: ", paste(basename(stale), collapse = ", "))
  }
  invisible(NULL)
}

# ---------------------------------------------------------------------------------------
# (a) inputs
# ---------------------------------------------------------------------------------------
# tol used by aeqSurv (timefix = TRUE)
AEQ_TOL <- sqrt(.Machine$double.eps)
NEARTIE_STEP <- 3e-8

# the k-th repeat (k = 1, 2, ... in data-row order) of time t becomes t + k * step * t
perturb_ties <- function(t, step) {
  k <- ave(seq_along(t), t, FUN = seq_along) - 1
  t + k * step * t
}

export_data <- function(id) {
  switch(id,
    colon3 = {
      d <- survival::colon
      d <- d[d$etype == 1, c("time", "status", "rx", "sex", "age", "nodes", "differ")]
      d$rx <- as.character(d$rx)
      d
    },
    lung12 = {
      survival::lung[, c("time", "status", "sex", "age", "ph.ecog", "inst")]
    },
    veteran_factor = {
      d <- survival::veteran[, c("time", "status", "trt", "celltype", "karno", "prior")]
      d$celltype <- as.character(d$celltype)
      d
    },
    neartie = {
      d <- survival::veteran[, c("time", "status", "celltype", "trt", "karno")]
      d$celltype <- as.character(d$celltype)
      t0 <- d$time
      d$time <- perturb_ties(t0, NEARTIE_STEP)
      check_neartie(t0, d$time)
      d
    },
    fail("no exporter for case '", id, "'; add one to export_data() in anytrial.R")
  )
}

# the perturbation must leave no exact ties, put some gaps below aeqSurv's tolerance and
# some above it, and none close to the boundary (so the outcome is not a rounding accident)
check_neartie <- function(t0, t1) {
  if (anyDuplicated(t1)) fail("neartie: exact ties left after perturbation")
  y <- sort(unique(t1))
  dy <- diff(y)
  ratio <- pmin(dy / mean(abs(y)), dy) / AEQ_TOL   # aeqSurv: tied if either <= tol
  near <- dy < 1e-3                         # gaps created by the perturbation
  if (sum(near) != sum(duplicated(t0))) fail("neartie: unexpected gap count")
  r <- ratio[near]
  if (!any(r <= 1) || !any(r > 1)) fail("neartie: need gaps on both sides of the tolerance")
  if (any(abs(r - 1) < 0.05)) fail("neartie: a gap is within 5% of aeqSurv's tolerance")
  merged <- sum(r <= 1)
  message(sprintf("neartie: %d perturbed gaps, %d below aeqSurv tolerance (merged by timefix), largest merged t = %g, smallest kept t = %g",
                  length(r), merged, max(y[-1][near][r <= 1]), min(y[-1][near][r > 1])))
}

export_case <- function(case, here) {
  d <- export_data(case$id)
  need <- case_columns(case)
  miss <- setdiff(need, names(d))
  if (length(miss)) fail(case$id, ": manifest columns not exported: ", paste(miss, collapse = ", "))
  rownames(d) <- NULL
  path <- file.path(here, case$file)
  dir.create(dirname(path), showWarnings = FALSE, recursive = TRUE)
  write_plain_csv(d, path)
  back <- read_raw(path)
  if (!identical(names(back), names(d))) fail(case$id, ": header did not survive the CSV")
  for (v in names(d)) {
    b <- back[[v]]
    b[b == ""] <- NA
    if (is.numeric(d[[v]])) b <- as.numeric(b)
    if (!identical(b, if (is.numeric(d[[v]])) as.numeric(d[[v]]) else d[[v]])) {
      fail(case$id, ": column ", v, " did not survive the CSV round trip")
    }
  }
}

# every column a case refers to (time, status, arm, all strata and covariates)
case_columns <- function(case) {
  cols <- c(case$time_col, case$event_col, case$arm_col)
  for (s in case$settings) {
    cols <- c(cols, unlist(s$strata), cov_name(unlist(s$covariates)))
  }
  unique(as.character(cols))
}

# covariate spec "NAME" or "NAME:REF"
cov_name <- function(spec) sub(":.*$", "", as.character(spec))
cov_ref <- function(spec) ifelse(grepl(":", spec), sub("^[^:]*:", "", spec), NA_character_)

# ---------------------------------------------------------------------------------------
# (b) read a CSV exactly as the Python loader sees it: all text, empty cell = missing
# ---------------------------------------------------------------------------------------
read_raw <- function(path) {
  if (!file.exists(path)) fail("input ", path, " not found")
  read.csv(path, colClasses = "character", check.names = FALSE,
           na.strings = character(0), strip.white = FALSE, encoding = "UTF-8")
}

NUM_RE <- "^[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?$"

# a column is numeric when every non-empty cell is a number, otherwise text
is_num_col <- function(x) all(grepl(NUM_RE, x[x != ""]))

col_value <- function(x) if (is_num_col(x)) as.numeric(ifelse(x == "", NA, x)) else x

# data for one setting: drop (or refuse) incomplete rows, recode status, build factors
setting_data <- function(case, s, raw) {
  strata <- as.character(unlist(s$strata))
  specs <- as.character(unlist(s$covariates))
  covs <- cov_name(specs)
  refs <- cov_ref(specs)
  used <- unique(c(case$time_col, case$event_col, case$arm_col, strata, covs))
  miss <- setdiff(used, names(raw))
  if (length(miss)) fail(case$id, ": missing columns ", paste(miss, collapse = ", "))
  if (any(c(".time", ".event", "arm") %in% c(strata, covs))) fail(case$id, ": reserved column name")

  empty <- sapply(used, function(v) raw[[v]] == "")
  empty <- matrix(empty, nrow = nrow(raw), dimnames = list(NULL, used))
  drop <- rowSums(empty) > 0
  if (any(drop)) {
    if (!identical(s$na, "drop")) {
      fail(case$id, ": missing values in ", paste(used[colSums(empty) > 0], collapse = ", "),
           " but na = ", s$na)
    }
  } else if (!(s$na %in% c("drop", "error"))) {
    fail(case$id, ": na must be drop or error")
  }
  dropped <- list(rows = int(sum(drop)),
                  columns = I(sort(used[colSums(empty[drop, , drop = FALSE]) > 0],
                                   method = "radix")),
                  lines = I(as.integer(which(drop) + 1L)))
  r <- raw[!drop, , drop = FALSE]

  if (!is_num_col(r[[case$time_col]])) fail(case$id, ": time column is not numeric")
  time <- as.numeric(r[[case$time_col]])
  if (any(time < 0)) fail(case$id, ": negative times")
  st <- r[[case$event_col]]
  if (!all(st %in% c(case$event_value, case$censor_value))) {
    fail(case$id, ": status values ", paste(setdiff(unique(st), c(case$event_value,
                                                                   case$censor_value)),
                                            collapse = ", "), " are neither event nor censor")
  }
  labels <- c(case$control, as.character(unlist(case$treatments)))
  if (anyDuplicated(labels)) fail(case$id, ": duplicate arm labels")
  a <- r[[case$arm_col]]
  if (!all(a %in% labels)) {
    fail(case$id, ": unexpected arm labels ", paste(setdiff(unique(a), labels), collapse = ", "))
  }
  d <- data.frame(.time = time, .event = as.integer(st == case$event_value))
  d$arm <- factor(a, levels = labels)
  if (any(table(d$arm) == 0)) fail(case$id, ": an arm is empty after dropping rows")
  for (v in strata) d[[v]] <- col_value(r[[v]])
  for (i in seq_along(covs)) {
    v <- covs[i]
    x <- r[[v]]
    if (is_num_col(x)) {
      if (!is.na(refs[i])) fail(case$id, ": reference level given for numeric column ", v)
      d[[v]] <- as.numeric(x)
    } else {
      lev <- sort(unique(x), method = "radix")     # C-locale order, as factor()
      if (!is.na(refs[i])) {
        if (!(refs[i] %in% lev)) fail(case$id, ": reference ", refs[i], " not a level of ", v)
        lev <- c(refs[i], setdiff(lev, refs[i]))
      }
      d[[v]] <- factor(x, levels = lev)
    }
  }
  list(d = d, labels = labels, strata = strata, covs = covs, dropped = dropped)
}

# ---------------------------------------------------------------------------------------
# (c) results for one setting
# ---------------------------------------------------------------------------------------
bt <- function(v) ifelse(make.names(v) == v, v, paste0("`", v, "`"))

rhs_terms <- function(arm, covs, strata) {
  terms <- c(if (arm) "arm", bt(covs))
  if (length(strata)) terms <- c(terms, paste0("strata(", paste(bt(strata), collapse = ", "), ")"))
  if (!length(terms)) terms <- "1"
  paste(terms, collapse = " + ")
}

# the formula's environment is the caller's: survdiff() evaluates its timefix argument
# inside model.frame(), i.e. in environment(formula)
surv_formula <- function(rhs, reverse = FALSE, env = parent.frame()) {
  lhs <- if (reverse) "Surv(.time, 1 - .event)" else "Surv(.time, .event)"
  as.formula(paste(lhs, "~", rhs), env = env)
}

# quantile(fit, 0.5) for one curve (name = strata name, or NULL for a single curve)
median_of <- function(fit, name = NULL) {
  q <- quantile(fit, probs = 0.5, conf.int = TRUE)
  pick <- function(m) if (is.null(name)) unname(m[1]) else unname(as.matrix(m)[name, 1])
  list(estimate = num(pick(q$quantile)), lower = num(pick(q$lower)), upper = num(pick(q$upper)))
}

km_arms <- function(d, labels, times, tau, conf_type, timefix) {
  fit <- survfit(surv_formula("arm"), data = d, conf.type = conf_type, timefix = timefix)
  sm <- summary(fit, times = times, extend = TRUE)
  tab <- summary(fit, rmean = tau)$table
  # times as the curves see them (aeqSurv applied to all rows, as survfit does)
  y <- Surv(d$.time, d$.event)
  if (timefix) y <- aeqSurv(y)
  out <- list()
  for (lab in labels) {
    s <- paste0("arm=", lab)
    if (!(s %in% names(fit$strata))) fail("survfit curve ", s, " not found")
    rows <- which(as.character(sm$strata) == s)
    if (length(rows) != length(times) || !identical(as.numeric(sm$time[rows]), times)) {
      fail("summary(times=) rows do not match the requested times for ", s)
    }
    cum_ev <- cumsum(sm$n.event[rows])
    cum_cn <- cumsum(sm$n.censor[rows])
    inarm <- d$arm == lab
    for (j in seq_along(times)) {   # cross-check the cumulative counts
      upto <- inarm & y[, 1] <= times[j]
      if (cum_ev[j] != sum(y[upto, 2] == 1) || cum_cn[j] != sum(y[upto, 2] == 0)) {
        fail("cumulative events/censored mismatch for ", s, " at ", times[j])
      }
    }
    surv_at <- lapply(seq_along(times), function(j) {
      k <- rows[j]
      list(time = num(times[j]), survival = num(sm$surv[k]), lower = num(sm$lower[k]),
           upper = num(sm$upper[k]), n_at_risk = int(sm$n.risk[k]),
           events = int(cum_ev[j]), censored = int(cum_cn[j]))
    })
    out[[lab]] <- list(n = int(tab[s, "records"]), events = int(tab[s, "events"]),
                       median = median_of(fit, s), survival_at = surv_at,
                       rmst = list(estimate = num(tab[s, "rmean"]),
                                   se = num(tab[s, "se(rmean)"])))
    if (tab[s, "records"] != sum(inarm) || tab[s, "events"] != sum(d$.event[inarm])) {
      fail("n/events mismatch for ", s)
    }
  }
  out
}

# survival 3.5-3's survdiff() forwards its own timefix argument to model.frame() (it
# removes rho from the call, but not timefix), so ANY explicit timefix = fails with
# "variable lengths differ (found for '(timefix)')". survdiff_tf() is survdiff() with the
# one missing line `m$timefix <- NULL` added after `m$rho <- NULL`; nothing else changes.
# If the installed version already has that line, survdiff() itself is used.
make_survdiff_tf <- function() {
  f <- survival::survdiff
  bl <- as.list(body(f))
  has <- function(e) vapply(bl, function(x) identical(x, e), TRUE)
  if (any(has(quote(m$timefix <- NULL)))) return(f)
  at <- which(has(quote(m$rho <- NULL)))
  if (length(at) != 1) fail("survdiff(): unexpected source; revisit the timefix workaround")
  body(f) <- as.call(append(bl, list(quote(m$timefix <- NULL)), after = at))
  environment(f) <- asNamespace("survival")
  f
}

logrank_part <- function(d, strata, timefix) {
  f <- surv_formula(rhs_terms(TRUE, character(0), strata))
  sd <- survdiff_tf(f, data = d, timefix = timefix)
  if (timefix) {                      # the patched copy must agree with the original
    sd0 <- survdiff(f, data = d)
    if (!identical(sd$chisq, sd0$chisq) || !identical(sd$exp, sd0$exp)) {
      fail("patched survdiff() disagrees with survdiff()")
    }
  }
  ex <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  df <- sum(ex > 0) - 1
  p <- pchisq(sd$chisq, df, lower.tail = FALSE)
  if (!is.null(sd$pvalue) && !isTRUE(all.equal(p, sd$pvalue, tolerance = 1e-12))) {
    fail("survdiff p-value disagrees with pchisq")
  }
  list(chisq = num(sd$chisq), df = int(df), p = num(p))
}

coef_row <- function(cf, se, z975) {
  z <- cf / se
  list(estimate = num(exp(cf)), lower = num(exp(cf - z975 * se)), upper = num(exp(cf + z975 * se)),
       p = num(2 * pnorm(-abs(z))), coef = num(cf), se = num(se), z = num(z))
}

cox_part <- function(d, labels, covs, strata, ties, timefix) {
  f_full <- surv_formula(rhs_terms(TRUE, covs, strata))
  fit <- coxph(f_full, data = d, ties = ties, control = coxph.control(timefix = timefix))
  b <- coef(fit)
  if (anyNA(b)) fail("coxph: aliased (NA) coefficients: ", paste(names(b)[is.na(b)], collapse = ", "))
  V <- fit$var
  se <- sqrt(diag(V))
  sc <- summary(fit)$coefficients
  if (!isTRUE(all.equal(unname(sc[, "se(coef)"]), unname(se), tolerance = 1e-14))) {
    fail("coxph: se mismatch with summary()")
  }
  z975 <- qnorm(0.975)
  k1 <- length(labels) - 1
  arm_names <- paste0("arm", labels[-1])
  if (!identical(names(b)[seq_len(k1)], arm_names)) {
    fail("coxph: arm coefficients not first: ", paste(names(b), collapse = ", "))
  }
  hrs <- lapply(seq_len(k1), function(i) {
    c(list(treatment = labels[i + 1]), coef_row(b[[i]], se[[i]], z975))
  })
  rest <- setdiff(seq_along(b), seq_len(k1))
  cov_rows <- lapply(rest, function(i) c(list(r_term = names(b)[i]), coef_row(b[[i]], se[[i]], z975)))

  # arm test: reduced model = same formula without the arm, same rows
  if (length(covs)) {
    red <- coxph(surv_formula(rhs_terms(FALSE, covs, strata)), data = d, ties = ties,
                 control = coxph.control(timefix = timefix))
    ll_red <- red$loglik[2]
    b_red <- coef(red)
    if (!identical(names(b_red), names(b)[rest])) fail("reduced model coefficients differ")
  } else {
    ll_red <- fit$loglik[1]
    b_red <- numeric(0)
  }
  lr <- 2 * (fit$loglik[2] - ll_red)
  ba <- b[seq_len(k1)]
  wald <- drop(t(ba) %*% solve(V[seq_len(k1), seq_len(k1), drop = FALSE], ba))
  sfit <- coxph(f_full, data = d, ties = ties, init = c(rep(0, k1), b_red),
                control = coxph.control(iter.max = 0, timefix = timefix))
  score <- unname(sfit$score)
  if (!length(covs) && !isTRUE(all.equal(score, unname(fit$score), tolerance = 1e-10))) {
    fail("score test at the null differs from fit$score")
  }
  arm_test <- list(lr_chisq = num(lr), df = int(k1), p = num(pchisq(lr, k1, lower.tail = FALSE)),
                   wald_chisq = num(wald), score_chisq = num(score))

  lr_m <- 2 * (fit$loglik[2] - fit$loglik[1])
  df_m <- length(b)
  model <- list(lr_chisq = num(lr_m), df = int(df_m),
                p_lr = num(pchisq(lr_m, df_m, lower.tail = FALSE)),
                wald_chisq = num(fit$wald.test), score_chisq = num(fit$score),
                loglik_null = num(fit$loglik[1]), loglik = num(fit$loglik[2]))
  conc <- list(estimate = num(fit$concordance[["concordance"]]),
               se = num(fit$concordance[["std"]]))
  list(hazard_ratios = hrs, covariates = cov_rows, arm_test = arm_test, model = model,
       concordance = conc)
}

followup_part <- function(d, labels, conf_type, timefix) {
  all <- survfit(surv_formula("1", reverse = TRUE), data = d, conf.type = conf_type,
                 timefix = timefix)
  by <- survfit(surv_formula("arm", reverse = TRUE), data = d, conf.type = conf_type,
                timefix = timefix)
  arms <- list()
  for (lab in labels) arms[[lab]] <- median_of(by, paste0("arm=", lab))
  list(median = median_of(all), arms = arms)
}

run_case <- function(case, here) {
  raw <- read_raw(file.path(here, case$file))
  times <- as.numeric(unlist(case$times))
  tau <- as.numeric(case$tau)
  if (!length(times) || anyNA(times) || anyDuplicated(times) || is.unsorted(times)) {
    fail(case$id, ": times must be distinct and increasing")
  }
  results <- lapply(case$settings, function(s) {
    if (!(s$conf_type %in% c("log", "log-log"))) fail(case$id, ": bad conf_type")
    if (!(s$ties %in% c("efron", "breslow"))) fail(case$id, ": bad ties")
    if (!is.logical(s$timefix) || length(s$timefix) != 1) fail(case$id, ": bad timefix")
    sd <- setting_data(case, s, raw)
    d <- sd$d
    cx <- cox_part(d, sd$labels, sd$covs, sd$strata, s$ties, s$timefix)
    c(list(settings = s,
           arms = km_arms(d, sd$labels, times, tau, s$conf_type, s$timefix),
           logrank = logrank_part(d, sd$strata, s$timefix)),
      cx,
      list(followup = followup_part(d, sd$labels, s$conf_type, s$timefix),
           dropped = sd$dropped))
  })
  if (identical(case$id, "neartie")) check_timefix_matters(results)
  list(id = case$id, r_version = R.version.string,
       survival_version = as.character(packageVersion("survival")), results = results)
}

# timefix = TRUE and FALSE (otherwise identical settings) must give different answers
check_timefix_matters <- function(results) {
  key <- function(r) { s <- r$settings; s$timefix <- NULL; toJSON(s, auto_unbox = TRUE) }
  strip <- function(r) { r$settings <- NULL; toJSON(r, auto_unbox = TRUE, json_verbatim = TRUE) }
  tf <- vapply(results, function(r) isTRUE(r$settings$timefix), TRUE)
  for (i in which(tf)) for (j in which(!tf)) {
    if (key(results[[i]]) == key(results[[j]])) {
      a <- results[[i]]; b <- results[[j]]
      if (a$model$loglik == b$model$loglik || a$logrank$chisq == b$logrank$chisq) {
        fail("neartie: timefix did not change the Cox/logrank results")
      }
      if (strip(a) == strip(b)) fail("neartie: timefix made no difference")
    }
  }
}

status <- tryCatch({
  main()
  0L
}, error = function(e) {
  message("anytrial.R FAILED: ", conditionMessage(e))
  1L
})
quit(save = "no", status = status)
