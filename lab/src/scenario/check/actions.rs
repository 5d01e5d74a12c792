//! An action and the parameters in its `with`.

use toml::de::DeValue;

use super::*;
use crate::pg::{Recovery, RecoveryTarget, RestoreCommand, TargetAction, TargetKind};
use crate::scenario::{PromoteMethod, LOAD_SECONDS};

impl<'a> Checker<'a> {
    /// The action `value` names and the entries of its `with`, each key checked against the
    /// action's parameters.
    fn action_with<'t, 'i>(
        &mut self,
        value: &Value<'_>,
        with: Option<&'t Value<'i>>,
    ) -> Option<(ActionKind, Vec<(&'t Key<'i>, &'t Value<'i>)>)> {
        let name = self.string("action", value)?;
        let Ok(kind) = name.parse::<ActionKind>() else {
            self.err(
                value.span(),
                format!(
                    "unknown action `{}`: expected one of {}",
                    quoted(name),
                    list(ACTIONS)
                ),
            );
            return None;
        };
        let (name, allowed) = (kind.name(), ActionSpec::of(kind).params);
        let params = match with {
            None => Vec::new(),
            Some(w) => self.with_entries(w, &Type::Params.expected())?,
        };
        for (k, _) in &params {
            if allowed.iter().any(|p| p.name == k.get_ref().as_ref()) {
                continue;
            }
            let message = if allowed.is_empty() {
                format!(
                    "action `{name}` takes no parameters, found `{}`",
                    k.get_ref()
                )
            } else {
                format!(
                    "unknown parameter `{}` for action `{name}`: expected one of {}",
                    k.get_ref(),
                    list(&allowed.iter().map(|p| p.name).collect::<Vec<_>>())
                )
            };
            self.err(k.span(), message);
        }
        self.typed(allowed, &params);
        Some((kind, params))
    }

    /// `set`'s parameters: the settings (checked as `--set` is) and how to apply them.
    fn set_action(
        &mut self,
        settings: Option<&Value<'_>>,
        apply: Option<&Value<'_>>,
    ) -> Option<Action> {
        let settings = settings.and_then(|v| self.settings("settings", v));
        let apply = self.opt(apply, |cx, v| {
            let names = <Apply as strum::VariantNames>::VARIANTS;
            cx.choice("apply", v, names, "way to apply")
                .and_then(|i| <Apply as strum::IntoEnumIterator>::iter().nth(i))
        });
        Some(Action::Set {
            settings: settings?,
            apply: apply?.unwrap_or(Apply::Reload),
        })
    }

    /// `promote`, by `method` (default `pg_ctl`).
    fn promote_action(&mut self, method: Option<&Value<'_>>) -> Option<Action> {
        let method = self.opt(method, |cx, v| {
            cx.choice("method", v, PromoteMethod::NAMES, "promotion method")
                .map(|i| PromoteMethod::ALL[i])
        });
        Some(Action::Promote {
            method: method?.unwrap_or_default(),
        })
    }

    /// An action with its parameters. One arm per action, each a few lines of its own
    /// parameters' checks: split, they would only be harder to compare.
    pub(super) fn action(&mut self, value: &Value<'_>, with: Option<&Value<'_>>) -> Option<Action> {
        let (kind, params) = self.action_with(value, with)?;
        let name = kind.name();
        let missing_at = with.map_or_else(|| value.span(), |w| w.span());
        let param = |key: &str| get(&params, key);
        let required = |cx: &mut Self, key: &str, what: &str| {
            debug_assert!(
                ActionSpec::of(kind).param(key).is_some_and(|p| p.required),
                "`{key}` of `{name}` is not required in spec::ActionSpec"
            );
            let v = param(key);
            if v.is_none() {
                cx.err(
                    missing_at.clone(),
                    format!("action `{name}` needs `{key}` in `with`: {what}"),
                );
            }
            v
        };
        let stop_mode = |cx: &mut Self, key: &str, v: &Value<'_>| {
            cx.choice(key, v, StopMode::NAMES, "stop mode")
                .map(|i| StopMode::ALL[i])
        };
        let node = "a node (node1, node2) or a role (primary, standby)";
        let data_dir = || Template::literal(DATA_DIR);
        match kind {
            ActionKind::Start => Some(Action::Start),
            ActionKind::Promote => self.promote_action(param("method")),
            ActionKind::LinkWal => Some(Action::LinkWal),
            ActionKind::LedgerStart => Some(Action::LedgerStart),
            ActionKind::Set => {
                let settings = required(
                    self,
                    "settings",
                    "the settings, such as { work_mem = \"8MB\" }",
                );
                self.set_action(settings, param("apply"))
            }
            ActionKind::LedgerRetarget => Some(Action::LedgerRetarget),
            ActionKind::Rewind => {
                let from = required(
                    self,
                    "from",
                    &format!("the running node to rewind from, {node}"),
                )
                .and_then(|v| self.node("from", v, false));
                Some(Action::Rewind { from: from? })
            }
            ActionKind::LedgerCheck => {
                let max_lost = self.opt(param("max_lost"), |cx, v| {
                    cx.counted(MAX_LOST.name, MAX_LOST.ty, v).map(|n| n as u64)
                });
                Some(Action::LedgerCheck {
                    max_lost: max_lost?,
                })
            }
            ActionKind::Stop => {
                let mode = self.opt(param("mode"), |cx, v| stop_mode(cx, "mode", v));
                let fallback = self.opt(param("fallback"), |cx, v| stop_mode(cx, "fallback", v));
                Some(Action::Stop {
                    mode: mode?.unwrap_or(StopMode::Fast),
                    fallback: fallback?,
                })
            }
            ActionKind::BaseBackup => {
                let from = required(self, "from", &format!("the node to copy, {node}"))
                    .and_then(|v| self.node("from", v, false));
                let to = self.opt(param("to"), |cx, v| cx.path("to", v, false));
                let wal = self.opt(param("wal"), |cx, v| cx.boolean("wal", v));
                Some(Action::BaseBackup {
                    from: from?,
                    to: to?.unwrap_or_else(data_dir),
                    wal: wal?.unwrap_or(false),
                })
            }
            ActionKind::LocalBackup => {
                let to = required(
                    self,
                    "to",
                    "the backup's directory, such as \"/disk3/backup/data\"",
                )
                .and_then(|v| self.path("to", v, false));
                Some(Action::LocalBackup { to: to? })
            }
            ActionKind::MoveAside => {
                let to = required(self, "to", "where to, under /disk4/")
                    .and_then(|v| self.path("to", v, true));
                let what = self.opt(param("what"), |cx, v| cx.areas(v));
                Some(Action::MoveAside {
                    to: to?,
                    what: what?.unwrap_or_else(|| Area::ALL.to_vec()),
                })
            }
            ActionKind::MakeStandby => {
                let of = required(self, "of", &format!("the primary to follow, {node}"))
                    .and_then(|v| self.node("of", v, false));
                let timeline = self.opt(param("timeline"), |cx, v| {
                    cx.choice("timeline", v, &["default", "latest"], "timeline")
                });
                let names = RestoreCommand::ALL.map(RestoreCommand::as_str);
                let restore = self.opt(param("restore"), |cx, v| {
                    cx.choice("restore", v, &names, "restore_command")
                });
                let apply_delay = self.opt(param("apply_delay"), |cx, v| {
                    cx.positive_duration("apply_delay", v)
                });
                Some(Action::MakeStandby {
                    of: of?,
                    latest_timeline: timeline? == Some(1),
                    restore: restore?.map(|i| RestoreCommand::ALL[i]),
                    apply_delay: apply_delay?,
                })
            }
            ActionKind::Pitr => self.pitr(&params, missing_at),
            ActionKind::Load => {
                let seconds = required(self, "seconds", "how long pgbench runs")
                    .and_then(|v| self.seconds(v));
                let clients = self.opt(param(CLIENTS.name), |cx, v| {
                    cx.counted(CLIENTS.name, CLIENTS.ty, v).map(|c| c as u32)
                });
                let background = self.opt(param("background"), |cx, v| cx.boolean("background", v));
                Some(Action::Load {
                    seconds: seconds?,
                    clients: clients?.unwrap_or(2),
                    background: background?.unwrap_or(false),
                })
            }
            ActionKind::CopyBackup => {
                let from = required(
                    self,
                    "from",
                    &format!("the node holding the backup, {node}"),
                )
                .and_then(|v| self.node("from", v, false));
                let backup = required(self, "backup", "the backup's directory on `from`")
                    .and_then(|v| self.path("backup", v, false));
                let to = self.opt(param("to"), |cx, v| cx.path("to", v, false));
                Some(Action::CopyBackup {
                    from: from?,
                    backup: backup?,
                    to: to?.unwrap_or_else(data_dir),
                })
            }
        }
    }

    /// `pitr`: exactly one recovery target, `inclusive` where the target takes it, the end
    /// action and the `restore_command`.
    fn pitr(
        &mut self,
        params: &[(&Key<'_>, &Value<'_>)],
        missing_at: Range<usize>,
    ) -> Option<Action> {
        let given: Vec<(TargetKind, &Key<'_>, &Value<'_>)> = TargetKind::ALL
            .iter()
            .filter_map(|k| {
                let (key, value) = params.iter().find(|(p, _)| p.get_ref() == k.param())?;
                Some((*k, *key, *value))
            })
            .collect();
        let names = || {
            TargetKind::ALL
                .iter()
                .map(|k| k.param())
                .collect::<Vec<_>>()
        };
        let (kind, value) = match given.as_slice() {
            [] => {
                let message = format!(
                    "action `pitr` needs one recovery target in `with`: {} (= \"{}\")",
                    or_list(&names()),
                    TargetKind::IMMEDIATE
                );
                self.err(missing_at, message);
                return None;
            }
            [(kind, _, value)] => (*kind, *value),
            [(first, ..), (second, key, _), ..] => {
                let message = format!(
                    "action `pitr` takes exactly one recovery target, found `{}` and `{}`: \
                     one of {} is the point where recovery stops",
                    first.param(),
                    second.param(),
                    list(&names())
                );
                self.err(key.span(), message);
                return None;
            }
        };
        let target = match kind {
            TargetKind::Immediate => self
                .choice(
                    kind.param(),
                    value,
                    &[TargetKind::IMMEDIATE],
                    "recovery target",
                )
                .map(|_| RecoveryTarget::Immediate),
            _ => self
                .conf_template(kind.param(), value)
                .map(|t| RecoveryTarget::of(kind, t)),
        };
        let inclusive = self.opt(get(params, "inclusive"), |cx, v| {
            let inclusive = cx.boolean("inclusive", v)?;
            if !kind.takes_inclusive() {
                let message = format!(
                    "`inclusive` (recovery_target_inclusive) applies to target_time, target_xid \
                     and target_lsn, not to `{}`",
                    kind.param()
                );
                cx.err(v.span(), message);
                return None;
            }
            Some(inclusive)
        });
        let at_target = self.opt(get(params, "at_target"), |cx, v| {
            cx.choice("at_target", v, TargetAction::NAMES, "end action")
                .map(|i| TargetAction::ALL[i])
        });
        let restore_command = self.opt(get(params, "restore_command"), |cx, v| {
            cx.conf_template("restore_command", v)
        });
        Some(Action::Pitr {
            recovery: Recovery {
                target: target?,
                inclusive: inclusive?,
                at_target: at_target?,
            },
            restore_command: restore_command?,
        })
    }

    /// `move_aside`'s `what`: distinct areas.
    fn areas(&mut self, value: &Value<'_>) -> Option<Vec<Area>> {
        let areas = self.array("what", value, &Type::Areas.expected(), |cx, v| {
            cx.choice("what", v, Area::NAMES, "area")
                .map(|i| Area::ALL[i])
        })?;
        for (i, area) in areas.iter().enumerate() {
            if areas[..i].contains(area) {
                self.err(
                    value.span(),
                    format!("`what` names `{}` twice", area.as_str()),
                );
                return None;
            }
        }
        Some(areas)
    }

    /// A template whose value goes into a configuration file (`pitr`'s target and
    /// `restore_command`): what it and each profile make of it must be writable there
    /// ([`crate::plan::conf_value`]: no control character, such as a newline that would end the
    /// line). Values only known at run time are checked when the step is rendered.
    fn conf_template(&mut self, key: &str, value: &Value<'_>) -> Option<Template> {
        let template = self.template(key, value)?;
        let no_profile = BTreeMap::new();
        let literal = (None, substituted(&template, from_profile(&no_profile)));
        let made: Vec<(Option<&String>, String)> = std::iter::once(literal)
            .chain(
                self.profile_values
                    .iter()
                    .map(|(p, values)| (Some(p), substituted(&template, from_profile(values)))),
            )
            .collect();
        let bad = made.into_iter().find_map(|(profile, text)| {
            let known = text.replace('\0', "");
            crate::plan::quoting::control_char(&known).map(|c| (profile, c))
        });
        if let Some((profile, c)) = bad {
            let by = match profile {
                Some(p) => format!(" (as profile `{p}` makes it)"),
                None => String::new(),
            };
            let message = format!(
                "`{key}` holds {c:?}{by}: a value written in a configuration file must be \
                 one line without control characters"
            );
            self.err(value.span(), message);
            return None;
        }
        Some(template)
    }

    /// `load`'s `seconds`: a number in [`LOAD_SECONDS`], or a template that makes one. What
    /// every profile makes of a template is checked: with only profile values in it, a number
    /// in range; with other variables (captures, built-ins), its known text digits only, so no
    /// value can add a word to the command. The runner checks the rendered value again.
    fn seconds(&mut self, value: &Value<'_>) -> Option<Template> {
        let expected = Type::Seconds.expected();
        match value.get_ref() {
            DeValue::Integer(_) => {
                let (min, max) = (*LOAD_SECONDS.start() as i64, *LOAD_SECONDS.end() as i64);
                let n = self.integer("seconds", value, min..=max, &expected)?;
                Some(Template::literal(&n.to_string()))
            }
            DeValue::String(_) => {
                let template = self.template("seconds", value)?;
                let no_profile = BTreeMap::new();
                let mut made: Vec<(Option<&String>, String)> = self
                    .profile_values
                    .iter()
                    .map(|(p, values)| (Some(p), substituted(&template, from_profile(values))))
                    .collect();
                if made.is_empty() {
                    made.push((None, substituted(&template, from_profile(&no_profile))));
                }
                let bad = made.into_iter().find(|(_, text)| !seconds_text(text));
                if let Some((profile, text)) = bad {
                    if template.variables().next().is_none() {
                        let message = format!(
                            "`seconds` must be {expected}, not \"{}\"",
                            quoted(&template.raw)
                        );
                        self.err(value.span(), message);
                        return None;
                    }
                    let made = match profile {
                        Some(p) if text != template.raw => format!(
                            ", which profile `{p}` makes \"{}\"",
                            quoted(&text.replace('\0', "${…}"))
                        ),
                        _ => String::new(),
                    };
                    let message = format!(
                        "`seconds` is \"{}\"{made}: it must be {expected}; a variable in it may \
                         only supply digits",
                        quoted(&template.raw)
                    );
                    self.err(value.span(), message);
                    return None;
                }
                Some(template)
            }
            _ => {
                self.wrong_type("seconds", value, &expected);
                None
            }
        }
    }
}

/// Whether `text` (a `seconds` template with its known values in, `\0` for each value only
/// known at run time) can be a number of seconds: a number in [`LOAD_SECONDS`] when it is all
/// known, else digits around the unknown values.
fn seconds_text(text: &str) -> bool {
    if text.contains('\0') {
        text.chars().all(|c| c == '\0' || c.is_ascii_digit())
    } else {
        text.parse::<u64>().is_ok_and(|n| LOAD_SECONDS.contains(&n))
    }
}
