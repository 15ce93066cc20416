//! `python.packages` (issue 16): pure-Python wheels from PyPI, downloaded by
//! the host and seen read-only by the guest; compiled ones, oversized ones
//! and requirements that would steer pip elsewhere refused.

use crate::python::ensure_fetched;
use serde_json::json;
use stockade::{Language, Policy, Sandbox, SandboxError};

/// tabulate 0.9.0's wheel on PyPI, as its digest pins it.
const TABULATE: &str =
    "tabulate==0.9.0 --hash=sha256:024ca478df22e9340661486f85298cff5f6dcdba14f3813e8830015b9ed1948f";

fn policy(packages: &[&str], extra: &str) -> Policy {
    let listed: Vec<String> = packages.iter().map(|p| format!("{p:?}")).collect();
    Policy::from_toml_str(&format!("[python]\npackages = [{}]\n{extra}", listed.join(", "))).expect("policy")
}

#[test]
fn a_pure_python_package_from_the_policy_imports_in_a_fresh_run() {
    ensure_fetched();
    // requests comes with four dependencies, none of which the guest bundles.
    let sandbox = Sandbox::new(policy(&["tabulate==0.9.0", "requests==2.32.3"], "")).expect("sandbox");
    let code = "from tabulate import tabulate\nimport tabulate as t, requests\n\
                prepared = requests.Request('GET', 'https://example.com/a', params={'q': 'x y'}).prepare()\n\
                [tabulate([[1, 2]], headers=['a', 'b'], tablefmt='plain'), t.__version__, t.__file__, \
                 requests.__version__, prepared.url]";
    let outcome = sandbox.run(Language::Python, code).expect("run");
    assert!(outcome.status.is_ok(), "{outcome:?}");
    assert_eq!(
        outcome.value,
        Some(json!([
            "  a    b\n  1    2",
            "0.9.0",
            "/opt/stockade/site-packages/tabulate/__init__.py",
            "2.32.3",
            "https://example.com/a?q=x+y"
        ]))
    );
    // Read-only: the guest cannot change what the next run imports.
    let write = sandbox
        .run(Language::Python, "open('/opt/stockade/site-packages/tabulate/__init__.py', 'a').write('x')")
        .expect("run");
    assert!(!write.status.is_ok(), "{write:?}");
    // A sandbox without the key has neither: only the guest's own tabulate.
    let plain = Sandbox::new(Policy::default()).expect("sandbox");
    let missing = plain.run(Language::Python, "import requests").expect("run");
    assert!(format!("{:?}", missing.status).contains("ModuleNotFoundError"), "{missing:?}");
    let bundled = plain.run(Language::Python, "import tabulate; tabulate.__version__").expect("run");
    assert_ne!(bundled.value, Some(json!("0.9.0")), "{bundled:?}");
}

#[test]
fn compiled_packages_oversized_ones_and_a_wrong_digest_are_refused() {
    ensure_fetched();
    let refused = |policy: Policy| Sandbox::new(policy).expect_err("refused");
    let compiled = refused(policy(&["ujson==5.10.0"], ""));
    assert!(matches!(compiled, SandboxError::Policy(_)), "{compiled:?}");
    let text = compiled.to_string();
    assert!(text.contains("ujson-5.10.0-") && text.contains("compiled code"), "{text}");
    let big = refused(policy(&[TABULATE], "packages_bytes = 10000\n"));
    assert!(big.to_string().contains("python.packages_bytes"), "{big}");
    let forged = TABULATE.replace("024ca4", "000000");
    let wrong = refused(policy(&[&forged], ""));
    assert!(matches!(wrong, SandboxError::Artifact { .. }), "{wrong:?}");
}

#[test]
fn requirements_that_would_steer_pip_elsewhere_are_refused() {
    for hostile in [
        "--index-url=http://127.0.0.1:1/simple",
        "tabulate --index-url=http://127.0.0.1:1/simple",
        "tabulate @ https://127.0.0.1:1/tabulate.whl",
        "./local-folder",
        "tabulate; os_name == 'posix'",
        "tabulate -r other.txt",
        "tabulate==0.9.0 --hash=sha256:00",
        "-e git+https://127.0.0.1:1/x",
        "",
    ] {
        let text = format!("[python]\npackages = [{hostile:?}]\n");
        let error = Policy::from_toml_str(&text).and_then(|p| p.validate().map(|()| p)).expect_err(hostile);
        assert!(error.to_string().contains("python.packages[0]"), "{hostile}: {error}");
    }
    // pip checks digests for every requirement or for none.
    let mixed = Policy::from_toml_str(&format!("[python]\npackages = [{TABULATE:?}, \"requests\"]\n"))
        .and_then(|p| p.validate())
        .expect_err("mixed");
    assert!(mixed.to_string().contains("all requirements or none"), "{mixed}");
    for fine in ["tabulate", "tabulate==0.9.0", "Requests[socks]>=2.31,<3", "zope.interface~=6.0", TABULATE] {
        let text = format!("[python]\npackages = [{fine:?}]\n");
        Policy::from_toml_str(&text).and_then(|p| p.validate()).unwrap_or_else(|e| panic!("{fine}: {e}"));
    }
}
