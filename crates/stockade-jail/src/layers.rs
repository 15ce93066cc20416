//! Which layers a jailed run has on this machine: planned before it starts
//! (for its audit record, and to refuse a run that `jail.require`s a layer
//! the machine lacks), and reported as applied in its outcome.

use crate::cgroup;
use stockade_core::{Enforcement, JailError, JailLayer, Layer, SandboxError};
use stockade_policy::Policy;

/// The layers a run under `policy` will have here, or the refusal of a run
/// that requires one this machine cannot give.
pub fn planned(policy: &Policy) -> Result<Enforcement, SandboxError> {
    let abi = crate::landlock::abi_version();
    let landlock_required = policy.jail.requires(JailLayer::Landlock)
        || std::env::var_os("STOCKADE_REQUIRE_LANDLOCK").is_some_and(|v| v == "1");
    if abi <= 0 && landlock_required {
        return Err(missing(JailLayer::Landlock, landlock_absent()));
    }
    let cgroups = cgroup::probe();
    if let (Err(why), true) = (&cgroups, policy.jail.requires(JailLayer::Cgroups)) {
        return Err(missing(JailLayer::Cgroups, format!("this process may not make cgroups here ({why})")));
    }
    Ok(applied(abi > 0, cgroups.is_ok()))
}

/// The layers of a run that had Landlock or not, and cgroups or not: the
/// user namespace and seccomp hold every run (none starts without them).
pub fn applied(landlock: bool, cgroups: bool) -> Enforcement {
    let mut layers = vec![Layer::UserNamespace];
    if landlock {
        layers.push(Layer::Landlock);
    }
    layers.push(Layer::Seccomp);
    if cgroups {
        layers.extend([Layer::CgroupMemory, Layer::CgroupPids]);
    } else {
        layers.extend([Layer::RlimitMemory, Layer::RlimitProcesses]);
    }
    let abi = crate::landlock::abi_version();
    let landlock_abi = (landlock && abi > 0).then(|| abi.unsigned_abs());
    Enforcement { layers, landlock_abi }
}

/// Why there is no Landlock.
pub fn landlock_absent() -> String {
    "this kernel has no Landlock (it needs Linux 5.13 or later, with landlock in the lsm= list; \
     STOCKADE_REQUIRE_LANDLOCK=1 requires it too)"
        .into()
}

/// The refusal of a run that requires `layer`.
pub fn missing(layer: JailLayer, why: String) -> SandboxError {
    JailError::LayerMissing { layer, why }.into()
}
