//! The deployment files and the README agree with the code about settings.

use std::{collections::BTreeSet, path::Path, process::Command};

fn read(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every `CINEMA_*` name in `text`.
fn settings_named(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("CINEMA_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        names.insert(name.trim_end_matches('_').to_owned());
        rest = &rest[at + "CINEMA_".len()..];
    }
    names
}

/// The settings `cinema serve` reads: every quoted name in src/config.rs.
fn settings_read_by_serve() -> BTreeSet<String> {
    let config = read("src/config.rs");
    settings_named(&config)
        .into_iter()
        .filter(|name| config.contains(&format!("\"{name}\"")))
        .collect()
}

#[test]
fn the_deployment_files_name_only_settings_the_server_reads() {
    let known = settings_read_by_serve();
    assert!(known.contains("CINEMA_JWT_SECRET"), "{known:?}");
    for file in ["compose.yaml", "Dockerfile"] {
        let unknown: Vec<_> = settings_named(&read(file))
            .difference(&known)
            .cloned()
            .collect();
        assert!(
            unknown.is_empty(),
            "{file} sets settings nothing reads: {unknown:?}"
        );
    }
}

#[test]
fn the_readme_documents_every_setting_of_serve() {
    let readme = read("README.md");
    let table: String = readme
        .lines()
        .filter(|line| line.starts_with("| `"))
        .collect::<Vec<_>>()
        .join("\n");
    let documented = settings_named(&table);
    let missing: Vec<_> = settings_read_by_serve()
        .difference(&documented)
        .cloned()
        .collect();
    assert!(missing.is_empty(), "the README's table lacks {missing:?}");
}

#[test]
fn compose_accepts_the_file_where_a_client_exists() {
    let root = env!("CARGO_MANIFEST_DIR");
    let clients: [(&str, &[&str]); 2] = [("docker", &["compose"]), ("docker-compose", &[])];
    for (program, prefix) in clients {
        let available = Command::new(program)
            .args(prefix)
            .arg("version")
            .output()
            .is_ok_and(|out| out.status.success());
        if !available {
            continue;
        }
        let checked = Command::new(program)
            .args(prefix)
            .args(["-f", "compose.yaml", "config", "-q"])
            .current_dir(root)
            .output()
            .expect("run compose config");
        assert!(
            checked.status.success(),
            "{program} rejects compose.yaml: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
        return;
    }
    eprintln!("no compose client here: compose.yaml checked by the other tests only");
}
