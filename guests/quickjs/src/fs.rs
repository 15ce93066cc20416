//! The native half of the guest's `fs` object: file operations on what the
//! policy's `[files]` grants mount (WASI preopens). Paths outside every
//! grant simply do not exist for the guest; the host enforces each grant's
//! mode and keeps every path inside its grant.

use rquickjs::prelude::Opt;
use rquickjs::{Array, Ctx, IntoJs, Object, Value};
use std::io::{ErrorKind, Write};

/// `__stockade_fs(op, path, data?)`: the operation's result, or an object
/// `{__error: true, code, message}` that the prelude turns into a thrown
/// `Error` with `code`, as Node's `fs` throws.
pub fn call<'js>(ctx: Ctx<'js>, op: String, path: String, data: Opt<String>) -> rquickjs::Result<Value<'js>> {
    match run(&ctx, &op, &path, data.0) {
        Ok(value) => Ok(value),
        Err(Failure::Io(error)) => {
            let code = code(&error);
            let failure = Object::new(ctx.clone())?;
            failure.set("__error", true)?;
            failure.set("code", code)?;
            failure.set("message", format!("{code}: {error}, {op} '{path}'"))?;
            Ok(failure.into_value())
        }
        Err(Failure::Js(error)) => Err(error),
    }
}

enum Failure {
    Io(std::io::Error),
    Js(rquickjs::Error),
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Failure {
        Failure::Io(error)
    }
}

impl From<rquickjs::Error> for Failure {
    fn from(error: rquickjs::Error) -> Failure {
        Failure::Js(error)
    }
}

fn run<'js>(ctx: &Ctx<'js>, op: &str, path: &str, data: Option<String>) -> Result<Value<'js>, Failure> {
    let undefined = Value::new_undefined(ctx.clone());
    let data = || data.clone().unwrap_or_default();
    Ok(match op {
        "read" => std::fs::read_to_string(path)?.into_js(ctx)?,
        "write" => {
            std::fs::write(path, data())?;
            undefined
        }
        "append" => {
            std::fs::OpenOptions::new().append(true).create(true).open(path)?.write_all(data().as_bytes())?;
            undefined
        }
        "exists" => std::fs::exists(path).unwrap_or(false).into_js(ctx)?,
        "list" => {
            let mut names = std::fs::read_dir(path)?
                .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<Result<Vec<_>, _>>()?;
            names.sort();
            let array = Array::new(ctx.clone())?;
            for (i, name) in names.into_iter().enumerate() {
                array.set(i, name)?;
            }
            array.into_value()
        }
        "stat" => {
            let meta = std::fs::metadata(path)?;
            let stat = Object::new(ctx.clone())?;
            stat.set("size", meta.len() as f64)?;
            stat.set("file", meta.is_file())?;
            stat.set("dir", meta.is_dir())?;
            let modified = meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            stat.set("mtimeMs", modified.map_or(0.0, |d| d.as_secs_f64() * 1000.0))?;
            stat.into_value()
        }
        "mkdir" => {
            std::fs::create_dir(path)?;
            undefined
        }
        "mkdirp" => {
            std::fs::create_dir_all(path)?;
            undefined
        }
        "unlink" => {
            std::fs::remove_file(path)?;
            undefined
        }
        "rmdir" => {
            std::fs::remove_dir(path)?;
            undefined
        }
        "rename" => {
            std::fs::rename(path, data())?;
            undefined
        }
        "link" => {
            std::fs::hard_link(path, data())?;
            undefined
        }
        other => {
            return Err(Failure::Io(std::io::Error::new(
                ErrorKind::InvalidInput,
                format!("no fs operation {other}"),
            )));
        }
    })
}

/// Node's name for an error: from WASI's errno where it has one.
fn code(error: &std::io::Error) -> &'static str {
    match error.raw_os_error() {
        Some(2) => "EACCES",
        Some(8) => "EBADF",
        Some(20) => "EEXIST",
        Some(28) => "EINVAL",
        Some(31) => "EISDIR",
        Some(44) => "ENOENT",
        Some(51) => "ENOSPC",
        Some(54) => "ENOTDIR",
        Some(55) => "ENOTEMPTY",
        Some(58) => "ENOTSUP",
        Some(63) => "EPERM",
        Some(69) => "EROFS",
        Some(75) => "EXDEV",
        Some(76) => "ENOTCAPABLE",
        _ => match error.kind() {
            ErrorKind::NotFound => "ENOENT",
            ErrorKind::PermissionDenied => "EACCES",
            ErrorKind::AlreadyExists => "EEXIST",
            ErrorKind::InvalidInput | ErrorKind::InvalidData => "EINVAL",
            _ => "EIO",
        },
    }
}
