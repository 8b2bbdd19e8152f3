# Export four trials shipped with R survival as arm,time,event CSVs (the development set of issue 12).
#
#   Rscript tests/specs/real/export.R        (run from the repository root)
#
# Writes tests/specs/real/data/<trial>.csv with columns
#   arm    a readable label of the randomised arm (control first in each trial's notes below)
#   time   days from randomisation to the event or to censoring
#   event  1 = event, 0 = censored
# Each trial's conventions (and the documented numbers the export is checked against) are below;
# the script stops if a check fails. Rows are written in the data set's own order.
suppressPackageStartupMessages(library(survival))

out_dir <- file.path("tests", "specs", "real", "data")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

write_trial <- function(name, arm, time, event) {
  stopifnot(!anyNA(arm), !anyNA(time), !anyNA(event), all(time >= 0), all(time == round(time)),
            all(event %in% c(0, 1)))
  df <- data.frame(arm = arm, time = as.integer(time), event = as.integer(event))
  write.csv(df, file.path(out_dir, paste0(name, ".csv")), row.names = FALSE, quote = FALSE)
  cat(sprintf("%-8s n=%d events=%d; per arm:", name, nrow(df), sum(df$event)))
  for (a in unique(df$arm)) {
    cat(sprintf(" %s n=%d events=%d;", a, sum(df$arm == a), sum(df$event[df$arm == a])))
  }
  cat("\n")
}

# veteran: VA lung cancer trial (Kalbfleisch & Prentice 1980). trt 1 = standard (control),
# 2 = test (treatment); time in days, status 1 = death. ?veteran: 137 patients.
v <- survival::veteran
stopifnot(nrow(v) == 137, all(v$trt %in% c(1, 2)), all(v$status %in% c(0, 1)))
write_trial("veteran", ifelse(v$trt == 1, "standard", "test"), v$time, v$status)

# myeloid: acute myeloid leukaemia (a simulated data set "based on a trial", ?myeloid); trt A =
# control, B = treatment; futime days to death or last follow-up, death 1 = died. ?myeloid: 646
# subjects, ids 1-646.
m <- survival::myeloid
stopifnot(nrow(m) == 646, identical(sort(m$id), 1:646), all(m$trt %in% c("A", "B")))
write_trial("myeloid", m$trt, m$futime, m$death)

# rhDNase: Genentech's 1992 trial in cystic fibrosis; trt 0 = placebo (control), 1 = rhDNase.
# Primary endpoint (?rhDNase): time to the first pulmonary exacerbation (an infection that needed
# IV antibiotics). Rows: one per exacerbation (767 rows, 0-5 episodes per subject, NA ivstart for
# subjects with none). ?rhDNase: an infection present at enrollment (ivstart <= 0, e.g. subject
# 173's interval -21 to 7) is NOT an event; such subjects are counted here as at risk from day 0
# and their first exacerbation starting after enrollment is the event (6 subjects; a simple
# time-to-first-event file has no left truncation; ?rhDNase's own analysis starts their risk at
# ivstop + 6, which changes nothing for the 4 of them without a later episode).
# Event: the first ivstart > 0, in days from entry. Censored: at end.dt - entry.dt (days).
d <- survival::rhDNase
stopifnot(nrow(d) == 767, d$ivstart[d$id == 173][1] == -21, d$ivstop[d$id == 173][1] == 7)
episodes <- tapply(!is.na(d$ivstart), d$id, sum)
stopifnot(min(episodes) == 0, max(episodes) == 5)
first <- d[!duplicated(d$id), ]
fu <- as.numeric(first$end.dt - first$entry.dt)
onset <- tapply(ifelse(!is.na(d$ivstart) & d$ivstart > 0, d$ivstart, NA), d$id,
                function(x) if (all(is.na(x))) NA else min(x, na.rm = TRUE))
onset <- as.numeric(onset[as.character(first$id)])
stopifnot(all(is.na(onset) | onset <= fu))
write_trial("rhDNase", ifelse(first$trt == 0, "placebo", "rhDNase"),
            ifelse(is.na(onset), fu, onset), as.integer(!is.na(onset)))

# bladder: the bladder cancer recurrence trial (Byar; ?bladder: "the 85 subjects with nonzero
# follow-up who were assigned to either thiotepa or placebo"), in the WLW layout, one row per
# subject and recurrence number. Time to FIRST recurrence = the enum == 1 rows: stop (months) and
# event (1 = recurrence; 0 = censored, including death). rx 1 = placebo (control), 2 = thiotepa.
# stop is in MONTHS; walkback's trial model works in days, so time = round(stop * 30.4375)
# (365.25 / 12 days per month), the same days_per_month as the specs.
b <- survival::bladder
b1 <- b[b$enum == 1, ]
stopifnot(nrow(b1) == 85, !anyDuplicated(b1$id), all(b1$rx %in% c(1, 2)), all(b1$stop > 0))
write_trial("bladder", ifelse(b1$rx == 1, "placebo", "thiotepa"), round(b1$stop * 30.4375), b1$event)
