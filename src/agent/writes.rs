//! The agent's state files: which one to write next (checkpoints, the exporter table, the
//! inventory, the status file), what a finished write changes, and the last writes before the
//! process exits. The driver writes each atomically and reports back; the periodic status line
//! is logged from here too.

use std::time::{Instant, SystemTime};

use super::state::{
    InputView, StateFile, StateWrite, StatusView, checkpoints_doc, status_doc, status_line,
};
use super::{Agent, SAVE_INTERVAL, STATUS_FILE_INTERVAL};

/// A failing state write is logged the first time and then every this many times.
const WRITE_FAILURE_LOG_EVERY: u64 = 60;

impl Agent {
    /// The next state file to write, if one is due. The driver writes it atomically and reports
    /// with [`Agent::handle_written`] before asking again. Also logs the periodic status line.
    pub fn poll_write(&mut self, now: Instant, wall: SystemTime) -> Option<StateWrite> {
        self.touch(now, wall);
        if now >= self.status_log_at {
            self.status_log_at = now + self.settings.status_interval;
            log::info!("status {}", status_line(&self.status_view()));
        }
        if self.writing.is_some() {
            return None;
        }
        if self.pipeline.domains.is_dirty() && now >= self.exporters_due {
            self.exporters_due = now + SAVE_INTERVAL;
            return Some(self.begin_write(StateFile::Exporters, self.pipeline.domains.to_json()));
        }
        if let Some(bytes) = self.refresh.as_ref().and_then(|r| r.poll_unsaved(now)) {
            return Some(self.begin_write(StateFile::Inventory, bytes));
        }
        let immediate = self.stop.is_some() && !self.last_write_failed;
        if self.any_dirty() && (immediate || now >= self.checkpoints_due) {
            self.checkpoints_due = now + SAVE_INTERVAL;
            let bytes = self.checkpoints_bytes();
            return Some(self.begin_write(StateFile::Checkpoints, bytes));
        }
        if now >= self.status_file_at {
            self.status_file_at = now + STATUS_FILE_INTERVAL;
            let bytes = status_doc(&self.status_view());
            return Some(self.begin_write(StateFile::Status, bytes));
        }
        None
    }

    fn begin_write(&mut self, file: StateFile, bytes: Vec<u8>) -> StateWrite {
        self.writing = Some(file);
        StateWrite { file, bytes }
    }

    fn checkpoints_bytes(&self) -> Vec<u8> {
        checkpoints_doc(
            &self.retained,
            self.slots
                .iter()
                .map(|s| (s.plan.name.as_str(), s.input.checkpoint())),
        )
    }

    /// The driver wrote (or failed to write) the file of the last `poll_write`.
    pub fn handle_written(&mut self, file: StateFile, result: Result<(), String>) {
        if self.writing == Some(file) {
            self.writing = None;
        }
        if file == StateFile::Inventory
            && let Some(r) = &mut self.refresh
        {
            r.handle_written(result.is_ok(), self.now);
        }
        match result {
            Ok(()) => {
                self.last_write_failed = false;
                match file {
                    StateFile::Checkpoints => {
                        for s in &mut self.slots {
                            s.input.mark_saved();
                        }
                        self.saved_since_poll = true;
                    }
                    StateFile::Exporters => self.pipeline.domains.mark_saved(),
                    StateFile::Status | StateFile::Inventory => {}
                }
            }
            Err(e) => {
                self.last_write_failed = true;
                self.write_failures += 1;
                if (self.write_failures - 1).is_multiple_of(WRITE_FAILURE_LOG_EVERY) {
                    log::error!(
                        "state file not written, will retry; file={} error={e} failures={}",
                        file.name(),
                        self.write_failures
                    );
                }
            }
        }
    }

    /// The last writes before the process exits (also after a forced stop): checkpoints (they
    /// only ever hold acknowledged positions, so they are always safe to write), the domain
    /// table if it changed, an unsaved inventory, and the status file. Logs the closing status
    /// line.
    pub fn final_writes(&mut self, now: Instant, wall: SystemTime) -> Vec<StateWrite> {
        self.touch(now, wall);
        let view = self.status_view();
        log::info!("status at exit {}", status_line(&view));
        let status = status_doc(&view);
        let mut out = vec![StateWrite {
            file: StateFile::Checkpoints,
            bytes: self.checkpoints_bytes(),
        }];
        if self.pipeline.domains.is_dirty() {
            out.push(StateWrite {
                file: StateFile::Exporters,
                bytes: self.pipeline.domains.to_json(),
            });
        }
        // A refresh that completed just before the stop.
        if let Some(bytes) = self.refresh.as_ref().and_then(|r| r.unsaved()) {
            out.push(StateWrite {
                file: StateFile::Inventory,
                bytes,
            });
        }
        out.push(StateWrite {
            file: StateFile::Status,
            bytes: status,
        });
        out
    }

    fn status_view(&self) -> StatusView<'_> {
        StatusView {
            wall: self.wall,
            uptime: self.now.saturating_duration_since(self.started),
            stopping: self.stop.is_some(),
            inputs: self
                .slots
                .iter()
                .map(|s| InputView {
                    name: &s.plan.name,
                    account_id: &s.plan.account_id,
                    region: s.region.as_deref().or(s.plan.region.as_deref()),
                    active: s.account.is_some(),
                    status: s.input.status(),
                })
                .collect(),
            collectors: &self.settings.collectors,
            export: self.pipeline.export.stats(),
            acked_through: self.acked.0,
            parse: &self.pipeline.stats,
            transport: &self.transport,
            inventory: self.refresh.as_ref().map(|r| r.status(&self.pipeline)),
        }
    }
}
