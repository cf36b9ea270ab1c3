//! A PostgreSQL server of a test's own (initdb, pg_ctl, pg_basebackup from the machine's PostgreSQL),
//! on a port of its own, that the test may stop, crash, start again or promote without disturbing the
//! shared server other tests use. Run as the `postgres` user when the tests run as root (the server
//! refuses root). Missing binaries fail loudly unless `POSTGRAM_TEST_SKIP=postgres`.
#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};
use std::process::Command;

use super::prerequisites::Prerequisite;

/// One server: its data directory and port; stopped (immediately) when dropped.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
}

/// The directory holding `pg_ctl` and its siblings: on the PATH, else Debian's versioned directory.
fn binaries() -> Option<PathBuf> {
    // Where `pg_ctl` on the PATH really lives: its siblings may not be linked beside it.
    let on_path = std::env::var_os("PATH").and_then(|path| {
        let dir = std::env::split_paths(&path).find(|dir| dir.join("pg_ctl").is_file())?;
        let real = std::fs::canonicalize(dir.join("pg_ctl")).ok()?;
        real.parent().map(Path::to_path_buf)
    });
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|dir| dir.join("pg_ctl").is_file())
            .collect();
        versions.sort();
        versions.pop()
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Runs a PostgreSQL program, as `postgres` when we are root; panics with its output on failure.
fn run(bin: &Path, program: &str, args: &[&str]) {
    let path = bin.join(program);
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&path);
        c
    } else {
        Command::new(&path)
    };
    let out = command
        .args(args)
        .current_dir("/")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A directory the server's user may write, removed with the cluster.
fn directory(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).expect("cluster directory");
    if is_root() {
        // The parent (a temporary directory) must be passable, the directory the server's own.
        let status = Command::new("chmod").arg("755").arg(parent).status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "chmod the cluster's parent"
        );
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status();
        assert!(status.is_ok_and(|s| s.success()), "chown the cluster");
    }
    dir
}

impl Cluster {
    /// A new server under `parent`, started; `None` when the person asked to skip PostgreSQL tests.
    pub fn start(parent: &Path, name: &str) -> Option<Cluster> {
        if Prerequisite::Postgres.skip_requested() {
            Prerequisite::Postgres.skipped();
            return None;
        }
        let Some(bin) = binaries() else {
            Prerequisite::Postgres
                .missing("initdb and pg_ctl are not on the PATH nor in /usr/lib/postgresql");
        };
        let data = directory(parent, name).join("data");
        let data_arg = data.to_string_lossy().into_owned();
        run(
            &bin,
            "initdb",
            &[
                "-D",
                &data_arg,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let cluster = Cluster {
            bin,
            data,
            port: super::free_port(),
        };
        cluster.configure(&format!(
            "listen_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n",
            cluster.data.display()
        ));
        cluster.start_again();
        Some(cluster)
    }

    /// A streaming standby of `primary` (a base backup), started, on a port of its own.
    pub fn standby_of(primary: &Cluster, parent: &Path, name: &str) -> Cluster {
        let data = directory(parent, name).join("data");
        let data_arg = data.to_string_lossy().into_owned();
        let port = primary.port.to_string();
        run(
            &primary.bin,
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-D",
                &data_arg,
                "-R",
                "-X",
                "stream",
            ],
        );
        let standby = Cluster {
            bin: primary.bin.clone(),
            data,
            port: super::free_port(),
        };
        standby.configure(&format!(
            "unix_socket_directories = '{}'\n",
            standby.data.display()
        ));
        standby.start_again();
        standby
    }

    /// Appends settings to `postgresql.conf`, and this server's port (later lines win).
    fn configure(&self, settings: &str) {
        let conf = self.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("postgresql.conf");
        text.push_str(settings);
        text.push_str(&format!("port = {}\n", self.port));
        std::fs::write(&conf, text).expect("postgresql.conf");
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data.to_string_lossy().into_owned();
        let log = self.data.join("server.log").to_string_lossy().into_owned();
        let mut all = vec!["-D", data.as_str(), "-l", log.as_str(), "-w"];
        all.extend_from_slice(args);
        run(&self.bin, "pg_ctl", &all);
    }

    pub fn start_again(&self) {
        self.pg_ctl(&["start"]);
    }

    /// Stops the server as a crash would: no checkpoint, recovery from the WAL at the next start.
    pub fn crash(&self) {
        self.pg_ctl(&["-m", "immediate", "stop"]);
    }

    /// Makes a standby the primary.
    pub fn promote(&self) {
        self.pg_ctl(&["promote"]);
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().into_owned();
        let path = self.bin.join("pg_ctl");
        // Best effort: it may be down already.
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}
