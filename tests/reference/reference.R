#!/usr/bin/env Rscript
# Reference results from R's survival package for walkback's parity tests.
#
#   Rscript tests/reference/reference.R      (from the repo root, or from anywhere)
#
# 1. exports the real trial datasets shipped with survival to inputs/<id>.csv
# 2. reads cases.json (written by make_inputs.py)
# 3. writes expected/<id>.json for every case and every setting
#
# Any error -- and any warning, which is promoted to an error -- stops the script
# with a non-zero exit status. Outputs are generated; never edit them by hand.

local({
  args <- commandArgs(trailingOnly = FALSE)
  here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
  source(file.path(here, "common.R"))
})

main <- function() {
  suppressPackageStartupMessages({
    library(survival)
    library(jsonlite)
  })

  here <- script_dir()
  manifest <- file.path(here, "cases.json")
  if (!file.exists(manifest)) {
    fail("cases.json not found in ", here, "; run python tests/reference/make_inputs.py first")
  }
  cases <- fromJSON(manifest, simplifyVector = FALSE)
  dir.create(file.path(here, "inputs"), showWarnings = FALSE)
  dir.create(file.path(here, "expected"), showWarnings = FALSE)

  available <- data(package = "survival")$results[, "Item"]
  available <- sub(" .*$", "", available)

  for (case in cases) {
    if (identical(case$kind, "real")) {
      if (!(case$id %in% available)) {
        fail("dataset '", case$id, "' is not shipped with survival ",
             as.character(packageVersion("survival")), "; drop it from make_inputs.py")
      }
      export_real(case, here)
    }
  }

  written <- character(0)
  for (case in cases) {
    out <- file.path(here, "expected", paste0(case$id, ".json"))
    res <- run_case(case, here)
    write_json(res, out, auto_unbox = TRUE, digits = NA, na = "null", null = "null",
               pretty = TRUE, json_verbatim = TRUE)
    written <- c(written, out)
    message(sprintf("%-24s n=%5d  settings=%2d", case$id,
                    res$results[[1]]$n$treatment + res$results[[1]]$n$control,
                    length(res$results)))
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
# (a) real datasets
# ---------------------------------------------------------------------------------------
real_data <- function(id) {
  e <- new.env()
  switch(id,
    veteran = {
      d <- survival::veteran
      d[, c("time", "status", "trt", "celltype")]
    },
    ovarian = {
      d <- survival::ovarian
      d[, c("futime", "fustat", "rx", "resid.ds")]
    },
    colon = {
      d <- survival::colon
      d <- d[d$etype == 2 & as.character(d$rx) %in% c("Obs", "Lev+5FU"), ]
      d$rx <- as.character(d$rx)
      d[, c("time", "status", "rx", "node4")]
    },
    aml = {
      d <- survival::aml
      d$x <- as.character(d$x)
      d[, c("time", "status", "x")]
    },
    pbc = {
      d <- survival::pbc[1:312, ]
      if (!all(d$trt %in% c(1, 2))) fail("pbc: first 312 rows should have trt 1/2")
      d$status <- as.integer(d$status == 2)
      d[, c("time", "status", "trt", "edema")]
    },
    myeloid = {
      d <- survival::myeloid
      d$sex <- as.character(d$sex)
      d[, c("futime", "death", "trt", "sex")]
    },
    gbsg = {
      d <- survival::gbsg
      d[, c("rfstime", "status", "hormon", "grade")]
    },
    lung = {
      d <- survival::lung
      d$status <- as.integer(d$status == 2)
      d[, c("time", "status", "sex", "ph.ecog")]
    },
    fail("no exporter for real case '", id, "'; add one to real_data() in reference.R")
  )
}

export_real <- function(case, here) {
  d <- real_data(case$id)
  need <- c(case$time_col, case$event_col, case$arm_col, unlist(case$strata))
  if (!setequal(names(d), need)) {
    fail(case$id, ": exported columns (", paste(names(d), collapse = ", "),
         ") differ from the manifest (", paste(need, collapse = ", "), ")")
  }
  d <- d[, need, drop = FALSE]
  d <- d[complete.cases(d), , drop = FALSE]
  for (v in names(d)) if (is.factor(d[[v]])) d[[v]] <- as.character(d[[v]])
  if (!all(d[[case$event_col]] %in% c(0, 1))) fail(case$id, ": events must be 0/1")
  arm <- if (is.numeric(d[[case$arm_col]])) fmt_num(d[[case$arm_col]]) else d[[case$arm_col]]
  if (!setequal(unique(arm), c(case$treatment, case$control))) {
    fail(case$id, ": arm values ", paste(unique(arm), collapse = "/"),
         " do not match treatment/control ", case$treatment, "/", case$control)
  }
  rownames(d) <- NULL
  path <- file.path(here, case$file)
  write_plain_csv(d, path)
  back <- read_case(case, here)
  if (!identical(back$time, as.numeric(d[[case$time_col]]))) {
    fail(case$id, ": times did not survive the CSV round trip")
  }
}

# ---------------------------------------------------------------------------------------
# (b) read one case's CSV exactly as the Python loader sees it (all text)
# ---------------------------------------------------------------------------------------
read_case <- function(case, here) {
  path <- file.path(here, case$file)
  if (!file.exists(path)) fail(case$id, ": input ", path, " not found")
  raw <- read.csv(path, colClasses = "character", check.names = FALSE,
                  na.strings = character(0), strip.white = FALSE, encoding = "UTF-8")
  strata <- as.character(unlist(case$strata))
  need <- c(case$time_col, case$event_col, case$arm_col, strata)
  miss <- setdiff(need, names(raw))
  if (length(miss)) fail(case$id, ": missing columns ", paste(miss, collapse = ", "))
  for (v in need) {
    if (any(raw[[v]] %in% c("", "NA"))) fail(case$id, ": empty/NA cells in column ", v)
  }
  time <- as.numeric(raw[[case$time_col]])
  event <- as.numeric(raw[[case$event_col]])
  if (anyNA(time) || any(time < 0)) fail(case$id, ": bad times")
  if (!all(event %in% c(0, 1))) fail(case$id, ": events must be 0/1")
  arm <- raw[[case$arm_col]]
  if (!all(arm %in% c(case$treatment, case$control))) {
    fail(case$id, ": unexpected arm labels ",
         paste(setdiff(unique(arm), c(case$treatment, case$control)), collapse = ", "))
  }
  d <- data.frame(time = time, event = event,
                  treat = as.numeric(arm == case$treatment),
                  grp = factor(ifelse(arm == case$treatment, "treatment", "control"),
                               levels = c("control", "treatment")))
  for (i in seq_along(strata)) d[[paste0("S", i)]] <- raw[[strata[i]]]
  if (sum(d$treat == 1) == 0 || sum(d$treat == 0) == 0) fail(case$id, ": an arm is empty")
  d
}

# ---------------------------------------------------------------------------------------
# (c) one contract object for one setting
# ---------------------------------------------------------------------------------------
ARMS <- c(treatment = "grp=treatment", control = "grp=control")

km_part <- function(d, times, conf_type, alpha, tau) {
  fit <- survfit(Surv(time, event) ~ grp, data = d, conf.type = conf_type,
                 conf.int = 1 - alpha)
  q <- quantile(fit, probs = 0.5, conf.int = TRUE)
  sm <- summary(fit, times = times, extend = TRUE)
  tab <- summary(fit, rmean = tau)$table
  med <- list()
  surv <- list()
  rm <- list()
  for (a in names(ARMS)) {
    s <- ARMS[[a]]
    med[[a]] <- list(estimate = num(q$quantile[s, 1]), lower = num(q$lower[s, 1]),
                     upper = num(q$upper[s, 1]))
    rows <- which(as.character(sm$strata) == s)
    if (length(rows) != length(unique(times))) {
      fail("summary(times=) returned ", length(rows), " rows for ", s)
    }
    st <- sm$time[rows]
    surv[[a]] <- lapply(times, function(t) {
      j <- rows[match(t, st)]
      if (is.na(j)) fail("summary(times=) lost requested time ", t, " for ", s)
      list(time = num(t), survival = num(sm$surv[j]), lower = num(sm$lower[j]),
           upper = num(sm$upper[j]), n_at_risk = int(sm$n.risk[j]))
    })
    rm[[a]] <- c(est = unname(tab[s, "rmean"]), se = unname(tab[s, "se(rmean)"]))
  }
  z <- qnorm(1 - alpha / 2)
  diff <- rm$treatment[["est"]] - rm$control[["est"]]
  se_diff <- sqrt(rm$treatment[["se"]]^2 + rm$control[["se"]]^2)
  rmst <- list(tau = num(tau),
               treatment = num(rm$treatment[["est"]]), treatment_se = num(rm$treatment[["se"]]),
               control = num(rm$control[["est"]]), control_se = num(rm$control[["se"]]),
               difference = num(diff), lower = num(diff - z * se_diff),
               upper = num(diff + z * se_diff))
  list(median = med, survival_at = surv, rmst = rmst)
}

model_part <- function(d, nstrata, ties, alpha) {
  rhs <- "treat"
  if (nstrata > 0) rhs <- paste0(rhs, " + strata(", paste0("S", seq_len(nstrata),
                                                            collapse = ", "), ")")
  f <- as.formula(paste("Surv(time, event) ~", rhs), env = environment())
  fit <- coxph(f, data = d, ties = ties, model = TRUE, x = TRUE)
  if (!is.null(fit$fail)) fail("coxph failed: ", fit$fail)
  cf <- unname(coef(fit)["treat"])
  se <- sqrt(fit$var[1, 1])
  z <- qnorm(1 - alpha / 2)
  wald_p <- summary(fit)$coefficients["treat", "Pr(>|z|)"]
  lr <- 2 * diff(fit$loglik)
  score <- unname(fit$score)
  hr <- list(estimate = num(exp(cf)), lower = num(exp(cf - z * se)),
             upper = num(exp(cf + z * se)), p = num(wald_p), log_hr = num(cf), se = num(se),
             p_lr = num(pchisq(lr, 1, lower.tail = FALSE)),
             p_score = num(pchisq(score, 1, lower.tail = FALSE)),
             wald_chisq = num((cf / se)^2), lr_chisq = num(lr), score_chisq = num(score),
             loglik_null = num(fit$loglik[1]), loglik = num(fit$loglik[2]))

  sd <- survdiff(f, data = d)
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  ex <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  grp_names <- names(sd$n)
  it <- match("treat=1", grp_names)
  ic <- match("treat=0", grp_names)
  if (is.na(it) || is.na(ic)) fail("survdiff groups not found: ", paste(grp_names, collapse = ","))
  lrk <- list(chisq = num(sd$chisq), p = num(pchisq(sd$chisq, 1, lower.tail = FALSE)),
              observed = list(treatment = num(obs[it]), control = num(obs[ic])),
              expected = list(treatment = num(ex[it]), control = num(ex[ic])))

  zph <- cox.zph(fit, transform = "km")
  ph <- list(chisq = num(zph$table["treat", "chisq"]), p = num(zph$table["treat", "p"]))
  list(hazard_ratio = hr, logrank = lrk, ph_test = ph)
}

run_case <- function(case, here) {
  d <- read_case(case, here)
  times <- as.numeric(unlist(case$times))
  tau <- as.numeric(case$tau)
  strata <- as.character(unlist(case$strata))
  if (length(times) == 0 || anyNA(times) || anyDuplicated(times)) fail(case$id, ": bad times")

  settings <- list()
  strata_opts <- if (length(strata)) list(character(0), strata) else list(character(0))
  for (st in strata_opts) for (ct in c("log", "log-log", "plain"))
    for (ti in c("efron", "breslow")) {
      settings[[length(settings) + 1]] <- list(conf_type = ct, ties = ti, strata = st,
                                               alpha = 0.05)
    }
  if (case$id %in% c("veteran", "walkback_like")) {
    settings[[length(settings) + 1]] <- list(conf_type = "log", ties = "efron",
                                             strata = character(0), alpha = 0.10)
  }

  n <- list(treatment = int(sum(d$treat == 1)), control = int(sum(d$treat == 0)))
  ev <- list(treatment = int(sum(d$event[d$treat == 1])),
             control = int(sum(d$event[d$treat == 0])))

  results <- lapply(settings, function(s) {
    km <- km_part(d, times, s$conf_type, s$alpha, tau)
    mp <- model_part(d, length(s$strata), s$ties, s$alpha)
    list(n = n, events = ev, median = km$median, survival_at = km$survival_at,
         hazard_ratio = mp$hazard_ratio, logrank = mp$logrank, ph_test = mp$ph_test,
         rmst = km$rmst,
         settings = list(conf_type = s$conf_type, ties = s$ties, strata = I(s$strata),
                         alpha = num(s$alpha)))
  })
  list(id = case$id, r_version = R.version.string,
       survival_version = as.character(packageVersion("survival")), results = results)
}

status <- tryCatch({
  main()
  0L
}, error = function(e) {
  message("reference.R FAILED: ", conditionMessage(e))
  1L
})
quit(save = "no", status = status)
