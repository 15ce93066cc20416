//! What a policy asks a backend to enforce beyond the defaults.
//!
//! A backend lists the requirements it can enforce; the facade refuses to run
//! a policy that asks for anything else. A grant or limit is never silently
//! ignored.

use crate::Policy;

/// One thing a policy asks for that not every backend can enforce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Requirement {
    /// An instruction budget (`limits.fuel`).
    Fuel,
    /// Host folders (`files.grants`).
    FileGrants,
    /// A scratch `/tmp` (`files.tmp_bytes`).
    ScratchTmp,
    /// Network destinations (`network.allow`).
    Network,
    /// Host tools (`tools`, `allow_unlisted_tools`).
    Tools,
    /// Secrets injected at egress (`secrets`).
    Secrets,
    /// An audit log (`audit.path`).
    Audit,
}

impl Requirement {
    /// The policy key this requirement comes from.
    pub fn key(self) -> &'static str {
        match self {
            Requirement::Fuel => "limits.fuel",
            Requirement::FileGrants => "files.grants",
            Requirement::ScratchTmp => "files.tmp_bytes",
            Requirement::Network => "network.allow",
            Requirement::Tools => "tools",
            Requirement::Secrets => "secrets",
            Requirement::Audit => "audit.path",
        }
    }
}

impl Policy {
    /// Everything this policy asks for beyond the deny-all defaults.
    pub fn requirements(&self) -> Vec<Requirement> {
        let wanted = [
            (self.limits.fuel.is_some(), Requirement::Fuel),
            (!self.files.grants.is_empty(), Requirement::FileGrants),
            (self.files.tmp_bytes > 0, Requirement::ScratchTmp),
            (!self.network.allow.is_empty(), Requirement::Network),
            (!self.tools.is_empty() || self.allow_unlisted_tools, Requirement::Tools),
            (!self.secrets.is_empty(), Requirement::Secrets),
            (self.audit.path.is_some(), Requirement::Audit),
        ];
        wanted.into_iter().filter(|(on, _)| *on).map(|(_, r)| r).collect()
    }
}
