//! Files that can only be copied (uploads, Chroma's segment files, n8n's `config` with its encryption key,
//! certificates, notebooks) and the stack's configuration files. Staging only names the walk: the files are
//! read while the archive is written, with the owning container paused for exactly that long.

use super::{Capture, Context, EngineError, Staged, Walk};
use crate::manifest::TargetRecord;

pub struct CopyTarget {
    pub walk: Walk,
}

impl Capture for CopyTarget {
    fn service(&self) -> &str {
        &self.walk.service
    }

    fn label(&self) -> String {
        format!("copy {}", self.walk.root.display())
    }

    fn record(&self) -> TargetRecord {
        let kind = if self.walk.service == crate::manifest::CONFIG_SERVICE {
            "config"
        } else {
            "copy"
        };
        TargetRecord::new(&self.walk.service, kind, Some(&self.walk.root))
    }

    fn stage(&self, context: &Context) -> Result<Staged, EngineError> {
        let exists = context
            .home()
            .join(&self.walk.root)
            .symlink_metadata()
            .is_ok();
        Ok(Staged {
            files: Vec::new(),
            walk: exists.then(|| self.walk.clone()),
            record: self.record(),
        })
    }
}
