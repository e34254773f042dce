//! What a command may print: human text (the default), one JSON document on stdout (`--json`,
//! shapes in README "JSON output"), or nothing but errors (`--quiet`). Errors go to stderr in
//! every mode, with the same exit codes.

use serde::Serialize;

use routesim::scenario::units::SeedRange;

/// `--json` and `--quiet`, shared by every command that prints results.
#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct OutputArgs {
    /// Print one JSON document on stdout and nothing else there (README, "JSON output").
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,
    /// Print nothing but errors: no results, no progress, no warnings.
    #[arg(long, short)]
    pub quiet: bool,
}

impl OutputArgs {
    /// Human text goes to stdout and stderr (results, notes, warnings).
    pub fn text(self) -> bool {
        !self.json && !self.quiet
    }

    /// Progress bars may be drawn (they are still drawn only on a terminal).
    pub fn progress(self) -> bool {
        !self.quiet
    }

    /// A warning on stderr, unless `--quiet`.
    pub fn warn(self, warning: &str) {
        if !self.quiet {
            eprintln!("warning: {warning}");
        }
    }

    /// Prints `document` as the one JSON document on stdout when `--json` is given.
    pub fn json(self, document: &impl Serialize) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(document).expect("a JSON shape serialises"));
        }
    }
}

/// A seed range in a JSON document.
#[derive(Serialize)]
pub struct Seeds {
    pub first: u64,
    pub last: u64,
}

impl From<SeedRange> for Seeds {
    fn from(range: SeedRange) -> Seeds {
        Seeds { first: range.first, last: range.last }
    }
}
