//! A test transform that misbehaves on purpose, to show what the host's sandbox withstands.
//! Not an example to follow.
//!
//! Settings:
//! - `attack`: `read-file`, `socket`, `env`, `alloc`, `loop`, `recurse`, `panic` or `none`;
//! - `when=COLUMN=VALUE`: attack only records whose COLUMN holds VALUE (default: all);
//! - `path`: the file `read-file` tries (default `/etc/passwd`);
//! - `address`: where `socket` connects (default `127.0.0.1:5432`);
//! - `phase=configure`: attack once while being configured instead of on records.
//!
//! Output: the input columns plus `outcome`, what the attack achieved (`denied: …`, or
//! what leaked). The traps (`alloc`, `loop`, `recurse`, `panic`) produce no output at all.

use holo_transform_sdk::{Column, Config, Emit, Error, Row, Transform};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Attack {
    ReadFile,
    Socket,
    Env,
    Alloc,
    Loop,
    Recurse,
    Panic,
    None,
}

#[derive(Debug)]
pub struct Hostile {
    attack: Attack,
    when: Option<(String, String)>,
    when_index: Option<usize>,
    path: String,
    address: String,
}

impl Transform for Hostile {
    fn new(config: &Config) -> Result<Self, Error> {
        config.check_keys(&["attack", "when", "path", "address", "phase"])?;
        let attack = match config.require("attack")? {
            "read-file" => Attack::ReadFile,
            "socket" => Attack::Socket,
            "env" => Attack::Env,
            "alloc" => Attack::Alloc,
            "loop" => Attack::Loop,
            "recurse" => Attack::Recurse,
            "panic" => Attack::Panic,
            "none" => Attack::None,
            other => return Err(Error::msg(format!("unknown attack `{other}`"))),
        };
        let when = match config.get("when") {
            Some(w) => {
                let (c, v) = w
                    .split_once('=')
                    .ok_or_else(|| format!("when `{w}` is not COLUMN=VALUE"))?;
                Some((c.to_owned(), v.to_owned()))
            }
            None => None,
        };
        let path = config.get("path").unwrap_or("/etc/passwd").to_owned();
        let address = config.get("address").unwrap_or("127.0.0.1:5432").to_owned();
        match config.get("phase") {
            None | Some("process") => {}
            Some("configure") => {
                let outcome = self::attack(attack, &path, &address);
                return Err(Error::msg(format!("configured after attacking: {outcome}")));
            }
            Some(other) => return Err(Error::msg(format!("unknown phase `{other}`"))),
        }
        Ok(Hostile {
            attack,
            when,
            when_index: None,
            path,
            address,
        })
    }

    fn output_schema(&mut self, input: &[Column]) -> Result<Vec<Column>, Error> {
        if let Some((column, _)) = &self.when {
            self.when_index = Some(
                input
                    .iter()
                    .position(|c| &c.name == column)
                    .ok_or_else(|| format!("no input column `{column}`"))?,
            );
        }
        let mut out = input.to_vec();
        out.push(Column::text("outcome"));
        Ok(out)
    }

    fn process(&mut self, row: &Row<'_>, out: &mut Emit<'_>) -> Result<(), Error> {
        let targeted = match (&self.when, self.when_index) {
            (Some((_, value)), Some(i)) => row.get(i).to_text().as_deref() == Some(value.as_str()),
            _ => true,
        };
        let outcome = if targeted {
            attack(self.attack, &self.path, &self.address)
        } else {
            "spared".to_owned()
        };
        out.row().copy_row(row).text(&outcome);
        Ok(())
    }
}

fn attack(attack: Attack, path: &str, address: &str) -> String {
    match attack {
        Attack::ReadFile => match std::fs::read(path) {
            Ok(bytes) => format!("read {} bytes of {path}", bytes.len()),
            Err(e) => format!("denied: {e}"),
        },
        Attack::Socket => match std::net::TcpStream::connect(address) {
            Ok(_) => format!("connected to {address}"),
            Err(e) => format!("denied: {e}"),
        },
        Attack::Env => {
            let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
            if vars.is_empty() {
                "denied: no environment variables".to_owned()
            } else {
                format!("leaked: {}", vars.join(","))
            }
        }
        Attack::Alloc => {
            // Keeps every allocation alive until the cap stops it.
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 16 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        Attack::Loop => {
            let mut n = 0u64;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        Attack::Recurse => format!("depth {}", recurse(std::hint::black_box(1))),
        Attack::Panic => panic!("hostile transform panics on purpose"),
        Attack::None => "none".to_owned(),
    }
}

/// Does not return in practice: each frame keeps a buffer alive so the stack really grows.
fn recurse(n: u64) -> u64 {
    if n == u64::MAX {
        return 0;
    }
    let buf = std::hint::black_box([n; 64]);
    recurse(buf[3].wrapping_add(1)).wrapping_add(buf[7])
}

holo_transform_sdk::export_transform!(Hostile);

#[cfg(test)]
mod tests {
    use super::*;
    use holo_transform_sdk::Value;
    use holo_transform_sdk::native::{MemoryHost, Output, Runner};

    #[test]
    fn only_targeted_records_are_attacked() {
        let mut r: Runner<Hostile> = Runner::with_settings(
            &[("attack", "none"), ("when", "id=2")],
            Box::new(MemoryHost::new()),
        )
        .unwrap();
        r.output_schema(&[Column::text("id")]).unwrap();
        let out = r.run(&[vec!["1".into()], vec!["2".into()]]).unwrap();
        assert_eq!(
            out,
            [
                Output::Row {
                    input: 0,
                    values: vec!["1".into(), Value::from("spared")]
                },
                Output::Row {
                    input: 1,
                    values: vec!["2".into(), Value::from("none")]
                },
            ]
        );
    }

    #[test]
    fn bad_settings_are_named() {
        let err =
            Runner::<Hostile>::with_settings(&[("attack", "nuke")], Box::new(MemoryHost::new()))
                .err()
                .unwrap();
        assert!(err.contains("nuke"), "{err}");
    }
}
