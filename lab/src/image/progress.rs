//! How far `make world` is (no I/O): objects the compiler was asked to produce, counted in the
//! build log, against how many the same tarball produced before, or, the first time, the C
//! files of its source tree.

/// The object files a build-log line asks the compiler for: the `-o X.o` of a `gcc`/`cc` line
/// (make prints each command as it starts it). Links (`-o libpq.so`, `-o postgres`) are not
/// objects.
pub fn objects_in(line: &str) -> u64 {
    let mut words = line.split_whitespace();
    let mut n = 0;
    while let Some(word) = words.next() {
        let target = match word.strip_prefix("-o") {
            Some("") => words.next(),
            Some(glued) => Some(glued),
            None => None,
        };
        if target.is_some_and(|t| t.ends_with(".o")) {
            n += 1;
        }
    }
    n
}

/// Whether a source-tree path is a C file a default `make world` compiles: tests, Windows-only
/// code and the tutorial are left out.
pub fn compiled_source(path: &str) -> bool {
    path.ends_with(".c")
        && !["/test/", "/win32", "/tutorial/"]
            .iter()
            .any(|skip| path.contains(skip))
}

/// The estimate of a build's objects from its tarball's listing (the first build of a tarball).
pub fn estimate_from_listing<'a>(paths: impl IntoIterator<Item = &'a str>) -> u64 {
    paths.into_iter().filter(|p| compiled_source(p)).count() as u64
}

/// A build's progress: objects seen against the expected count, and which tenth was last
/// reported on a plain (non-terminal) output.
#[derive(Debug, Clone, Default)]
pub struct BuildProgress {
    done: u64,
    expected: Option<u64>,
    reported_tenth: u64,
}

impl BuildProgress {
    /// A build expected to produce `expected` objects (unknown: `None`, until [`Self::expect`]).
    pub fn new(expected: Option<u64>) -> BuildProgress {
        BuildProgress {
            expected: expected.filter(|&e| e > 0),
            ..Default::default()
        }
    }

    /// Sets the expected count once it is known (a listing finished after the build started).
    pub fn expect(&mut self, expected: u64) {
        if self.expected.is_none() && expected > 0 {
            self.expected = Some(expected);
        }
    }

    /// Counts the objects of one log line; whether the count changed.
    pub fn line(&mut self, line: &str) -> bool {
        let n = objects_in(line);
        self.done += n;
        n > 0
    }

    /// Objects seen so far.
    pub fn done(&self) -> u64 {
        self.done
    }

    /// The bar's length: the expected count, or one more than seen when the build outgrew
    /// the estimate (the bar never shows 100 % before the build ends).
    pub fn total(&self) -> Option<u64> {
        self.expected.map(|e| e.max(self.done + 1))
    }

    /// The tenth (10, 20 … 90 %) just reached, once each, for one plain line per tenth.
    pub fn next_tenth(&mut self) -> Option<u64> {
        let total = self.total()?;
        let tenth = (self.done * 10 / total).min(9);
        if tenth > self.reported_tenth {
            self.reported_tenth = tenth;
            Some(tenth * 10)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compile_line_is_one_object_and_a_link_none() {
        assert_eq!(
            objects_in(
                "gcc -Wall -O2 -I../../../src/include -D_GNU_SOURCE -c -o heapam.o heapam.c"
            ),
            1
        );
        assert_eq!(objects_in("gcc -O2 -c -oheapam.o heapam.c"), 1);
        assert_eq!(
            objects_in("gcc -O2 -shared -o libpq.so.5.15 fe-auth.o fe-connect.o"),
            0
        );
        assert_eq!(objects_in("gcc -O2 access/objfiles.txt -o postgres"), 0);
        assert_eq!(objects_in("checking for gcc... gcc"), 0);
        assert_eq!(objects_in("-o"), 0);
    }

    #[test]
    fn the_listing_estimate_counts_compiled_c_files() {
        let listing = [
            "postgresql-15.18/src/backend/access/heap/heapam.c",
            "postgresql-15.18/src/backend/access/heap/heapam.h",
            "postgresql-15.18/src/test/regress/regress.c",
            "postgresql-15.18/src/port/win32setlocale.c",
            "postgresql-15.18/src/tutorial/funcs.c",
            "postgresql-15.18/contrib/pgcrypto/pgp.c",
        ];
        assert_eq!(estimate_from_listing(listing), 2);
    }

    #[test]
    fn progress_reports_each_tenth_once_and_never_reaches_the_end_early() {
        let mut p = BuildProgress::new(Some(20));
        let mut tenths = Vec::new();
        for i in 0..30 {
            assert!(p.line(&format!("gcc -c -o f{i}.o f{i}.c")));
            tenths.extend(p.next_tenth());
        }
        assert_eq!(tenths, [10, 20, 30, 40, 50, 60, 70, 80, 90]);
        assert_eq!(p.done(), 30);
        assert_eq!(p.total(), Some(31));
        assert!(!p.line("make[2]: Leaving directory"));
    }

    #[test]
    fn an_unknown_total_is_learnt_later() {
        let mut p = BuildProgress::new(None);
        p.line("cc -c -o a.o a.c");
        assert_eq!((p.total(), p.next_tenth()), (None, None));
        p.expect(4);
        p.expect(100);
        assert_eq!(p.total(), Some(4));
        p.line("cc -c -o b.o b.c");
        assert_eq!(p.next_tenth(), Some(50));
        assert_eq!(BuildProgress::new(Some(0)).total(), None);
    }
}
