#!/usr/bin/env Rscript
# Reference results for walkback's subgroup analysis from R's survival package.
#
#   Rscript tests/reference/subgroups/subgroups.R      (works from any directory)
#
# For each real trial shipped with survival (cases below): per level of each `by` variable,
#   coxph(Surv(time, status) ~ arm [+ covariates] [+ strata(s)], subset = by == level)
# (arm a factor, reference = control) -> HR, Wald CI, Wald p, n and events per arm; and the
# interaction test anova(coxph(~ arm + by ...), coxph(~ arm * by ...)) on the rows complete for
# that variable (na.omit per model). A level where an arm has no rows or no events is null.
# Writes inputs/<id>.csv and expected/<id>.json. Warnings are errors.

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
    colon = {
      d <- survival::colon
      d <- d[d$etype == 2, ]
      data.frame(time = d$time, status = d$status, rx = as.character(d$rx), sex = d$sex,
                 age = d$age, differ = d$differ, extent = d$extent, node4 = d$node4)
    },
    veteran = {
      d <- survival::veteran
      data.frame(time = d$time, status = d$status, trt = d$trt,
                 celltype = as.character(d$celltype), prior = d$prior, karno = d$karno)
    },
    gbsg = {
      d <- survival::gbsg
      data.frame(rfstime = d$rfstime, status = d$status, hormon = d$hormon, grade = d$grade,
                 meno = d$meno, age = d$age)
    },
    myeloid = {
      d <- survival::myeloid
      data.frame(futime = d$futime, death = d$death, trt = as.character(d$trt),
                 sex = as.character(d$sex))
    },
    pbc = {
      d <- survival::pbc
      data.frame(time = d$time, status = ifelse(d$status == 2, 2, 1), trt = d$trt,
                 sex = as.character(d$sex), edema = d$edema, stage = d$stage, age = d$age)
    },
    rotterdam = {
      d <- survival::rotterdam
      data.frame(rtime = d$rtime, recur = d$recur, chemo = d$chemo, meno = d$meno,
                 grade = d$grade, hormon = d$hormon)
    },
    fail("unknown dataset ", id)
  )
}

case <- function(id, data, time, event, arm, control, treatments, by, covariates = character(0),
                 strata = character(0), event_value = "1", censor_value = "0",
                 ties = "efron") {
  list(id = id, data = data, time_col = time, event_col = event, arm_col = arm,
       control = control, treatments = treatments, by = by, covariates = covariates,
       strata = strata, event_value = event_value, censor_value = censor_value, ties = ties)
}

CASES <- list(
  case("colon_rx", "colon", "time", "status", "rx", "Obs", c("Lev", "Lev+5FU"),
       c("sex", "differ", "extent", "node4")),
  case("colon_adjusted", "colon", "time", "status", "rx", "Obs", c("Lev", "Lev+5FU"),
       c("sex", "node4"), covariates = "age", ties = "breslow"),
  case("veteran_trt", "veteran", "time", "status", "trt", "1", "2", c("celltype", "prior")),
  case("gbsg_strata", "gbsg", "rfstime", "status", "hormon", "0", "1", c("grade", "meno"),
       covariates = "age", strata = "meno"),
  case("myeloid_trt", "myeloid", "futime", "death", "trt", "A", "B", "sex"),
  case("pbc_trt", "pbc", "time", "status", "trt", "1", "2", c("sex", "edema"),
       event_value = "2", censor_value = "1"),
  case("rotterdam_chemo", "rotterdam", "rtime", "recur", "chemo", "0", "1", c("meno", "grade"))
)

# the model frame: rows complete for time, event, arm, covariates, strata (and `by` if given)
model_rows <- function(d, cs, by = NULL) {
  cols <- c(cs$time_col, cs$event_col, cs$arm_col, cs$covariates, cs$strata, by)
  d <- d[complete.cases(d[, cols, drop = FALSE]), , drop = FALSE]
  d <- d[as.character(d[[cs$arm_col]]) %in% c(cs$control, cs$treatments), , drop = FALSE]
  data.frame(
    time = d[[cs$time_col]],
    status = as.integer(as.character(d[[cs$event_col]]) == cs$event_value),
    arm = factor(as.character(d[[cs$arm_col]]), levels = c(cs$control, cs$treatments)),
    d[, c(cs$covariates, cs$strata, by), drop = FALSE],
    check.names = FALSE
  )
}

rhs <- function(cs, extra = character(0)) {
  terms <- c("arm", extra, cs$covariates)
  if (length(cs$strata)) terms <- c(terms, paste0("strata(", cs$strata, ")"))
  paste(terms, collapse = " + ")
}

fit <- function(d, cs, extra = character(0)) {
  f <- as.formula(paste("Surv(time, status) ~", rhs(cs, extra)))
  coxph(f, data = d, ties = cs$ties)
}

level_text <- function(x) as.character(x)  # 0.5 -> "0.5", 2 -> "2", as walkback reads cells

level_rows <- function(d, cs, by, level) {
  arms <- c(cs$control, cs$treatments)
  n <- setNames(lapply(arms, function(a) int(sum(d$arm == a))), arms)
  ev <- setNames(lapply(arms, function(a) int(sum(d$status[d$arm == a]))), arms)
  ok <- all(unlist(n) > 0) && all(unlist(ev) > 0)
  if (ok) {
    f <- fit(d, cs)
    s <- summary(f, conf.int = 0.95)
  }
  lapply(cs$treatments, function(a) {
    row <- list(by = by, level = level, treatment = a, n = n, events = ev)
    if (!ok) return(c(row, list(hazard_ratio = NULL, lower = NULL, upper = NULL, p = NULL)))
    k <- paste0("arm", a)
    c(row, list(hazard_ratio = num(s$conf.int[k, "exp(coef)"]),
                lower = num(s$conf.int[k, "lower .95"]),
                upper = num(s$conf.int[k, "upper .95"]),
                p = num(s$coefficients[k, "Pr(>|z|)"])))
  })
}

run_case <- function(cs, raw) {
  base <- model_rows(raw, cs)
  rows <- list()
  inter <- list()
  for (by in cs$by) {
    d <- model_rows(raw, cs, by)
    d$by_level <- level_text(d[[by]])
    lv <- unique(d$by_level)
    lv <- lv[order(if (is.numeric(d[[by]])) as.numeric(lv) else lv)]
    for (level in lv) rows <- c(rows, level_rows(d[d$by_level == level, ], cs, by, level))
    d$by_f <- factor(d$by_level, levels = lv)
    main <- if (by %in% cs$strata) fit(d, cs) else fit(d, cs, "by_f")
    full <- fit(d, cs, c("by_f", "arm:by_f"))
    a <- anova(main, full)
    inter <- c(inter, list(list(by = by, chisq = num(a$Chisq[2]), df = int(a$Df[2]),
                                p = num(a[["Pr(>|Chi|)"]][2]),
                                missing = int(nrow(base) - nrow(d)))))
  }
  settings <- cs[c("time_col", "event_col", "arm_col", "control", "treatments", "by",
                   "covariates", "strata", "event_value", "censor_value", "ties")]
  settings$treatments <- I(settings$treatments)
  settings$by <- I(settings$by)
  settings$covariates <- I(settings$covariates)
  settings$strata <- I(settings$strata)
  list(id = cs$id, file = paste0("inputs/", cs$data, ".csv"), settings = settings,
       subgroups = rows, interaction = inter)
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
    message(sprintf("%-16s %d subgroup rows, %d interaction tests", cs$id,
                    length(res$subgroups), length(res$interaction)))
  }
}

main()
