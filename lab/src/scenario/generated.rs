//! Drill files made to cost the checker the most: procedures that multiply their steps, values
//! that grow at each level. `lab bench --check-input`, the malformed-input corpus and the
//! procedure tests use them (pure text, no I/O).

/// The three top-level keys every drill needs.
pub const HEAD: &str = "name = \"w\"\ntitle = \"T\"\nproves = \"P.\"\n";

/// Procedures `p0` … `p7`, each using the one before `fanout` times; the drill uses `p7`:
/// `fanout`⁸ steps unless something bounds it.
pub fn procedures_using_procedures(fanout: usize) -> String {
    let mut text = format!(
        "{HEAD}[[steps]]\nuse = \"p7\"\n\n[procedures.p0]\n[[procedures.p0.steps]]\ntitle = \"s\"\nnote = \"x\"\n"
    );
    for level in 1..8 {
        text.push_str(&format!("[procedures.p{level}]\n"));
        for _ in 0..fanout {
            text.push_str(&format!(
                "[[procedures.p{level}.steps]]\nuse = \"p{}\"\n",
                level - 1
            ));
        }
    }
    text
}

/// Procedures `q0` … `q7`, each passing its `v` on written `copies` times over: a value of
/// `value_bytes` grows `copies`-fold at each level.
pub fn a_value_that_grows(copies: usize, value_bytes: usize) -> String {
    let mut text = format!(
        "{HEAD}[[steps]]\nuse = \"q7\"\nwith = {{ v = \"{}\" }}\n\n[procedures.q0]\nparams = {{ v = \"a value\" }}\n[[procedures.q0.steps]]\ntitle = \"s\"\nnote = \"${{v}}\"\n",
        "v".repeat(value_bytes)
    );
    for level in 1..8 {
        text.push_str(&format!(
            "[procedures.q{level}]\nparams = {{ v = \"a value\" }}\n[[procedures.q{level}.steps]]\nuse = \"q{}\"\nwith = {{ v = \"{}\" }}\n",
            level - 1,
            "${v}".repeat(copies)
        ));
    }
    text
}

/// One procedure of `steps` note steps, used by the drill `uses` times.
pub fn one_procedure_used_often(steps: usize, uses: usize) -> String {
    a_procedure_of("note = \"x\"\n", steps, uses)
}

/// One procedure of `steps` steps, each a title and `body`, used by the drill `uses` times.
pub fn a_procedure_of(body: &str, steps: usize, uses: usize) -> String {
    let mut text = format!("{HEAD}[procedures.r]\n");
    for i in 0..steps {
        text.push_str(&format!("[[procedures.r.steps]]\ntitle = \"s{i}\"\n{body}"));
    }
    for _ in 0..uses {
        text.push_str("[[steps]]\nuse = \"r\"\n");
    }
    text
}
