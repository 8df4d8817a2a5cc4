//! The official Standard Webhooks verifier (the `standardwebhooks` npm package, pinned in
//! `.ci/webhooks`), which the tests check deliveries with instead of the service's own code.
//! Installed under `target/ci-webhooks` the first time a test needs it (as `.ci/run` does).

use std::{path::PathBuf, process::Command};

use serde_json::{Value, json};

use super::receiver::Received;
use crate::helpers::skip;

/// What the verifier needs of the machine, for a skip line.
const NEEDS_NODE: &str =
    "Node.js and npm (Debian: apt install nodejs npm), for the official Standard Webhooks verifier";

/// The verifier, ready to run.
pub struct Verifier {
    dir: PathBuf,
}

/// A delivery as the verifier is given it: a secret, the three headers, the body.
pub struct Case {
    /// The secret to verify with.
    pub secret: String,
    /// `webhook-id`.
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: String,
    /// `webhook-signature`.
    pub signature: String,
    /// The body.
    pub body: String,
}

impl Case {
    /// `received` as it arrived, checked with `secret`.
    pub fn of(received: &Received, secret: &str) -> Self {
        Self {
            secret: secret.to_owned(),
            id: received.id.clone(),
            timestamp: received.timestamp.clone(),
            signature: received.signature.clone(),
            body: received.body.clone(),
        }
    }
}

static INSTALL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Verifier {
    /// The verifier, installed if it is not yet; `None` (after a line saying what is missing)
    /// on a machine without Node.js. With `CI=true` a missing Node.js fails the test.
    pub async fn get(test: &str) -> Option<Self> {
        let _installing = INSTALL.lock().await;
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".ci/webhooks");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ci-webhooks");
        let installed = dir.join("node_modules/standardwebhooks/package.json").exists()
            && std::fs::read(dir.join("package-lock.json")).ok()
                == std::fs::read(source.join("package-lock.json")).ok();
        if Command::new("node").arg("--version").output().is_err() {
            skip(test, NEEDS_NODE);
            return None;
        }
        if !installed {
            std::fs::create_dir_all(&dir).unwrap();
            for file in ["package.json", "package-lock.json"] {
                std::fs::copy(source.join(file), dir.join(file)).unwrap();
            }
            let dir = dir.clone();
            let installed = tokio::task::spawn_blocking(move || {
                Command::new("npm")
                    .args(["ci", "--silent", "--no-audit", "--no-fund"])
                    .current_dir(dir)
                    .status()
            })
            .await
            .unwrap();
            match installed {
                Ok(status) if status.success() => {}
                Ok(status) => panic!("npm ci of the Standard Webhooks verifier failed: {status}"),
                Err(_) => {
                    skip(test, NEEDS_NODE);
                    return None;
                }
            }
        }
        std::fs::copy(source.join("verify.mjs"), dir.join("verify.mjs")).unwrap();
        Some(Self { dir })
    }

    /// The verifier's verdict on each case: the payload it verified, or its error.
    pub async fn verify(&self, cases: &[Case]) -> Vec<Result<Value, String>> {
        let input: Vec<Value> = cases
            .iter()
            .map(|case| {
                json!({
                    "secret": case.secret,
                    "headers": {
                        "webhook-id": case.id,
                        "webhook-timestamp": case.timestamp,
                        "webhook-signature": case.signature,
                    },
                    "body": case.body,
                })
            })
            .collect();
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), serde_json::to_vec(&input).unwrap()).unwrap();
        let mut command = Command::new("node");
        command.arg(self.dir.join("verify.mjs")).arg(file.path()).current_dir(&self.dir);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
        assert!(output.status.success(), "the verifier failed: {}", String::from_utf8_lossy(&output.stderr));
        let verdicts: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
        verdicts
            .into_iter()
            .map(|verdict| {
                if verdict["ok"] == json!(true) {
                    Ok(verdict["payload"].clone())
                } else {
                    Err(verdict["error"].as_str().unwrap_or_default().to_owned())
                }
            })
            .collect()
    }
}
