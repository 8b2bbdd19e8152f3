# Helpers shared by the reference scripts (reference.R, anytrial/anytrial.R, twin/twin_check.R).
# Each script sources this file first:
#   source(file.path(dirname(normalizePath(sub("^--file=", "",
#     grep("^--file=", commandArgs(FALSE), value = TRUE)))), "<path to>/common.R"))
#
# Any warning is promoted to an error; sorting is byte order, as in Python.

options(warn = 2, stringsAsFactors = FALSE)
invisible(Sys.setlocale("LC_COLLATE", "C"))

fail <- function(...) stop(paste0(...), call. = FALSE)

# directory holding the running script (works from any working directory)
script_dir <- function() {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f) != 1) fail("cannot locate the script; run it with Rscript")
  dirname(normalizePath(f))
}

# ---------------------------------------------------------------------------------------
# numbers: JSON numbers are written with 17 significant digits so every double survives
# the round trip exactly (jsonlite's digits = NA keeps only 15). NULL/NA/NaN/Inf -> null.
# ---------------------------------------------------------------------------------------
num <- function(x) {
  if (is.null(x)) return(structure("null", class = "json"))
  if (length(x) != 1) fail("num(): expected a scalar, got length ", length(x))
  x <- as.numeric(x)
  txt <- if (is.na(x) || !is.finite(x)) "null" else sprintf("%.17g", x)
  structure(txt, class = "json")
}

int <- function(x) {
  if (length(x) != 1) fail("int(): expected a scalar, got length ", length(x))
  if (is.na(x)) return(NA_integer_)
  if (x != round(x)) fail("int(): non-integer count ", x)
  as.integer(x)
}

# CSV text for numbers: the shortest of %.15g / %.16g / %.17g that reads back identically;
# NA -> empty cell (a missing value)
fmt_num <- function(x) {
  s <- rep("", length(x))
  ok <- !is.na(x)
  v <- x[ok]
  t <- sprintf("%.15g", v)
  for (d in c(16, 17)) {
    bad <- as.numeric(t) != v
    t[bad] <- sprintf(paste0("%.", d, "g"), v[bad])
  }
  if (any(as.numeric(t) != v)) fail("fmt_num(): value does not round-trip")
  if (any(grepl("e", t, fixed = TRUE))) fail("fmt_num(): exponent notation in export")
  s[ok] <- t
  s
}

csv_quote <- function(s) {
  need <- grepl("[\",\r\n]", s) | grepl("^\\s|\\s$", s)
  s[need] <- paste0("\"", gsub("\"", "\"\"", s[need], fixed = TRUE), "\"")
  s
}

# a data frame as a plain UTF-8 CSV (LF line ends); NA -> empty cell
write_plain_csv <- function(d, path) {
  cols <- lapply(d, function(v) {
    if (is.numeric(v)) return(fmt_num(v))
    v <- as.character(v)
    if (any(!is.na(v) & v == "")) fail("write_plain_csv(): empty text would read as missing")
    out <- csv_quote(v)
    out[is.na(v)] <- ""
    out
  })
  lines <- c(paste(csv_quote(names(d)), collapse = ","),
             do.call(paste, c(cols, sep = ",")))
  con <- file(path, open = "wb")
  on.exit(close(con))
  writeLines(lines, con, sep = "\n", useBytes = TRUE)
}
