//! The pip requirements `python.packages` may list.

/// Checks one `python.packages` entry: a package's name, optional
/// `[extras]`, an optional version specifier (`==1.2`, `>=2,<3`), and
/// `--hash=sha256:HEX` options. Nothing else reaches pip: no URL or path
/// (`pkg @ https://…`, `./dir`), no environment marker, no other option
/// (`--index-url` would send the host elsewhere for its code).
pub fn check_requirement(text: &str) -> Result<(), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let options = words.iter().position(|word| word.starts_with('-')).unwrap_or(words.len());
    let (spec, rest) = (words[..options].concat(), &words[options..]);
    let name_end =
        spec.find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c))).unwrap_or(spec.len());
    let (name, mut tail) = spec.split_at(name_end);
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!("{text:?} must start with a package's name, such as `tabulate==0.9.0`"));
    }
    if let Some(extras) = tail.strip_prefix('[') {
        let (inside, after) = extras.split_once(']').ok_or_else(|| format!("{text:?}: `[` without `]`"))?;
        if inside.is_empty() || !inside.chars().all(|c| c.is_ascii_alphanumeric() || "._,-".contains(c)) {
            return Err(format!("{text:?}: extras are names between `[` and `]`"));
        }
        tail = after;
    }
    for clause in tail.split(',').filter(|clause| !clause.is_empty()) {
        let version = ["===", "==", "!=", "<=", ">=", "~=", "<", ">"]
            .iter()
            .find_map(|op| clause.strip_prefix(op))
            .ok_or_else(|| {
                format!(
                    "{text:?}: after the name comes a version (`==1.2`, `>=2,<3`); no URL, path or marker"
                )
            })?;
        if version.is_empty() || !version.chars().all(|c| c.is_ascii_alphanumeric() || ".*+!-".contains(c)) {
            return Err(format!("{text:?}: {clause:?} is not a version specifier"));
        }
    }
    for option in rest {
        let digest = option
            .strip_prefix("--hash=sha256:")
            .ok_or_else(|| format!("{text:?}: the only option is `--hash=sha256:HEX`, not {option:?}"))?;
        if digest.len() != 64 || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("{text:?}: a sha256 digest is 64 hex digits"));
        }
    }
    Ok(())
}
