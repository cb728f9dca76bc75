//! The policies file (TOML): `signal_source`, `detector`, `detector_model`, `[[policy]]`
//! (plain or routed), `[[sweep]]`, `[lexicon]`, `[lexicon.extend]`, `[quality]`. Every error
//! names the file, the line and the key.
//!
//! The file is parsed into toml's spanned document tree (`DeTable`) rather than through serde
//! so that every unknown key, wrong type and out-of-range value can be reported at its line.
//! Entries are checked in file order, so the first problem in the file is the one reported.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::Path;

use toml::de::{DeString, DeTable, DeValue};
use toml::Spanned;

use super::routed::{RoutedPolicy, FALLBACK};
use super::search::{subsets, Search, SearchKey};
use super::sweep::{parameter_value_problem, Objective, SweepParameter};
use super::{Policy, QualityReference, Sweep};
use crate::signals::lexicon::{read_lexicon_table, LexiconConfig};
use crate::signals::vocabulary::{Guard, Signal, Situation};
use crate::signals::{DetectorKind, SignalSource};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoliciesFile {
    pub signal_source: Option<SignalSource>,
    /// `detector`: which detector reads text (docs/signals.md).
    pub detector: Option<DetectorKind>,
    /// `detector_model`: a model file written by `handoff detector train`, instead of the
    /// shipped model; `load_policies` resolves a relative path against the policies file's
    /// folder.
    pub detector_model: Option<std::path::PathBuf>,
    /// The plain policies, in file order.
    pub policies: Vec<Policy>,
    /// The routed policies, in file order (each knows its place among all `[[policy]]`
    /// tables).
    pub routed: Vec<RoutedPolicy>,
    pub sweeps: Vec<Sweep>,
    /// The `[[search]]` blocks, in file order (search.md).
    pub searches: Vec<Search>,
    pub lexicon: LexiconConfig,
    pub quality: QualityReference,
}

/// A policies file that cannot be used (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    #[error("{path}: cannot be read: {reason}")]
    Io { path: String, reason: String },
    #[error("{path}: line {line}: {key}: {message}")]
    Invalid { path: String, line: usize, key: String, message: String },
}

/// The most points one sweep may expand to: a guard against a mistyped step.
pub const MAX_SWEEP_POINTS: usize = 10_000;

/// Tolerance of the sweep grid's end (policies.md: "does not pass `to` by more than 1e-9").
const GRID_TOLERANCE: f64 = 1e-9;

pub fn parse_policies(text: &str, path: &str) -> Result<PoliciesFile, PolicyFileError> {
    let ctx = Ctx { text, path };
    let document = DeTable::parse(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        ctx.error(span, "(syntax)", e.message().trim().to_string())
    })?;
    let mut file = PoliciesFile::default();
    let mut policy_tables = Vec::new();
    let mut sweep_tables = Vec::new();
    let mut search_tables = Vec::new();
    for (key, value) in entries_in_file_order(document.get_ref()) {
        match key.get_ref().as_ref() {
            "signal_source" => {
                let s = ctx.string(value, "signal_source")?;
                let source = SignalSource::parse(s).ok_or_else(|| {
                    ctx.error(
                        value.span(),
                        "signal_source",
                        format!("unknown source `{s}` (expected auto, tags, text or both)"),
                    )
                })?;
                file.signal_source = Some(source);
            }
            "detector" => {
                let s = ctx.string(value, "detector")?;
                let kind = DetectorKind::parse(s).ok_or_else(|| {
                    ctx.error(
                        value.span(),
                        "detector",
                        format!("unknown detector `{s}` (expected lexicon, model or ensemble)"),
                    )
                })?;
                file.detector = Some(kind);
            }
            "detector_model" => {
                let s = ctx.string(value, "detector_model")?;
                if s.trim().is_empty() {
                    return Err(ctx.error(
                        value.span(),
                        "detector_model",
                        "a blank path (expected the model file `handoff detector train` wrote)"
                            .into(),
                    ));
                }
                file.detector_model = Some(std::path::PathBuf::from(s));
            }
            "policy" => policy_tables = ctx.array_of_tables(value, "policy")?,
            "sweep" => sweep_tables = ctx.array_of_tables(value, "sweep")?,
            "search" => search_tables = ctx.array_of_tables(value, "search")?,
            "lexicon" => file.lexicon = ctx.lexicon(value)?,
            "quality" => file.quality = ctx.quality(value)?,
            other => {
                return Err(ctx.error(
                    key.span(),
                    other,
                    "unknown top-level key (expected signal_source, detector, detector_model, \
                     [[policy]], [[sweep]], [[search]], [lexicon], [lexicon.extend] or \
                     [quality])"
                        .into(),
                ))
            }
        }
    }
    let mut names = BTreeSet::new();
    let mut routed = Vec::new();
    for (position, table) in policy_tables.into_iter().enumerate() {
        let name = if is_routed(table) {
            let r = ctx.routed(table, position)?;
            let name = r.name.clone();
            routed.push(r);
            name
        } else {
            let policy = ctx.policy(table)?;
            let name = policy.name.clone();
            file.policies.push(policy);
            name
        };
        if !names.insert(name.clone()) {
            let span = table.get_ref().as_table().and_then(name_span).unwrap_or(table.span());
            return Err(ctx.error(span, "policy.name", format!("duplicate policy name `{name}`")));
        }
    }
    // Routes are resolved once every policy is known, so a route may name a policy defined
    // further down the file.
    let routed_names: BTreeSet<&str> = routed.iter().map(|r| r.name.as_str()).collect();
    let mut resolved = Vec::with_capacity(routed.len());
    for r in &routed {
        resolved.push(ctx.resolve_routes(r, &file.policies, &routed_names)?);
    }
    file.routed = resolved;
    for table in sweep_tables {
        let sweep = ctx.sweep(table, &file.policies, &file.routed)?;
        file.sweeps.push(sweep);
    }
    for table in search_tables {
        let search = ctx.search(table, &file.policies, &file.routed)?;
        if file.searches.iter().any(|s: &Search| s.name == search.name) {
            let span = table.get_ref().as_table().and_then(name_span).unwrap_or(table.span());
            return Err(ctx.error(
                span,
                "search.name",
                format!("duplicate search name `{}`", search.name),
            ));
        }
        file.searches.push(search);
    }
    Ok(file)
}

pub fn load_policies(path: &Path) -> Result<PoliciesFile, PolicyFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| PolicyFileError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut file = parse_policies(&text, &path.display().to_string())?;
    // A model file named in the policies file lives beside it, wherever the run starts.
    if let (Some(model), Some(dir)) = (&mut file.detector_model, path.parent()) {
        if model.is_relative() {
            *model = dir.join(&*model);
        }
    }
    Ok(file)
}

type Key<'i> = Spanned<DeString<'i>>;
type Value<'i> = Spanned<DeValue<'i>>;
/// Parsed items, each with the span an error about it points at.
type WithSpans<T> = (Vec<(T, Range<usize>)>, Range<usize>);

/// A table's entries sorted by where their key appears in the file.
fn entries_in_file_order<'a, 'i>(table: &'a DeTable<'i>) -> Vec<(&'a Key<'i>, &'a Value<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

/// A `[[policy]]` table with `route_by` or `route` is a routed policy.
fn is_routed(value: &Value<'_>) -> bool {
    value.get_ref().as_table().is_some_and(|t| {
        t.iter().any(|(k, _)| matches!(k.get_ref().as_ref(), "route_by" | "route"))
    })
}

/// A routed policy as read, before its routes are resolved to plain policies.
struct RawRouted {
    name: String,
    route_by: String,
    /// Normalised key, target name, the target's span.
    routes: Vec<(String, String, Range<usize>)>,
    position: usize,
}

fn name_span(table: &DeTable<'_>) -> Option<Range<usize>> {
    table.iter().find(|(k, _)| k.get_ref() == "name").map(|(_, v)| v.span())
}

const POLICY_KEYS: &str = "name, hand_off_on, unless, bypass, min_qualified, \
                           repeated_objection_after, enterprise_employees, min_turn, delay, \
                           weights, threshold";

/// The keys of one policy table as read, before defaults and cross-key checks.
#[derive(Default)]
struct PolicyKeys {
    name: Option<(String, Range<usize>)>,
    hand_off_on: Option<(Vec<Situation>, Range<usize>)>,
    unless: Option<Vec<Guard>>,
    bypass: Option<WithSpans<Situation>>,
    min_qualified: Option<u8>,
    repeated_objection_after: Option<u32>,
    enterprise_employees: Option<i64>,
    min_turn: Option<u32>,
    delay: Option<u32>,
    weights: Option<[f64; Signal::ALL.len()]>,
    threshold: Option<f64>,
    late_after: Option<u32>,
}

/// The file being parsed: turns spans into line numbers for errors.
struct Ctx<'t> {
    text: &'t str,
    path: &'t str,
}

impl Ctx<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        let prefix = self.text.get(..end).unwrap_or(self.text);
        prefix.bytes().filter(|b| *b == b'\n').count() + 1
    }

    fn error(&self, span: Range<usize>, key: &str, message: String) -> PolicyFileError {
        PolicyFileError::Invalid {
            path: self.path.to_string(),
            line: self.line(&span),
            key: key.to_string(),
            message,
        }
    }

    fn type_error(&self, value: &Value<'_>, key: &str, expected: &str) -> PolicyFileError {
        let found = value.get_ref().type_str();
        self.error(value.span(), key, format!("expected {expected}, found {found}"))
    }

    fn string<'a>(&self, value: &'a Value<'_>, key: &str) -> Result<&'a str, PolicyFileError> {
        value.get_ref().as_str().ok_or_else(|| self.type_error(value, key, "a string"))
    }

    fn table<'a, 'i>(
        &self,
        value: &'a Value<'i>,
        key: &str,
    ) -> Result<&'a DeTable<'i>, PolicyFileError> {
        value.get_ref().as_table().ok_or_else(|| self.type_error(value, key, "a table"))
    }

    fn array<'a, 'i>(
        &self,
        value: &'a Value<'i>,
        key: &str,
    ) -> Result<&'a [Value<'i>], PolicyFileError> {
        match value.get_ref() {
            DeValue::Array(a) => Ok(a.as_ref()),
            _ => Err(self.type_error(value, key, "an array")),
        }
    }

    fn array_of_tables<'a, 'i>(
        &self,
        value: &'a Value<'i>,
        key: &str,
    ) -> Result<Vec<&'a Value<'i>>, PolicyFileError> {
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.type_error(value, key, &format!("an array of tables ([[{key}]])")));
        };
        items
            .iter()
            .map(|item| match item.get_ref() {
                DeValue::Table(_) => Ok(item),
                _ => Err(self.type_error(item, key, "a table")),
            })
            .collect()
    }

    fn strings(
        &self,
        value: &Value<'_>,
        key: &str,
    ) -> Result<Vec<(String, Range<usize>)>, PolicyFileError> {
        self.array(value, key)?
            .iter()
            .map(|item| Ok((self.string(item, key)?.to_string(), item.span())))
            .collect()
    }

    /// An integer (a float, even `1.0`, is a type error: policies.md wants integers).
    fn integer(&self, value: &Value<'_>, key: &str) -> Result<i64, PolicyFileError> {
        let DeValue::Integer(i) = value.get_ref() else {
            return Err(self.type_error(value, key, "an integer"));
        };
        let digits: String = i.as_str().chars().filter(|c| *c != '_').collect();
        i64::from_str_radix(&digits, i.radix())
            .map_err(|_| self.error(value.span(), key, format!("integer {i} is out of range")))
    }

    /// An integer in `[min, max]`, converted to the field's type.
    fn integer_in<T: TryFrom<i64>>(
        &self,
        value: &Value<'_>,
        key: &str,
        min: i64,
        max: i64,
        range: &str,
    ) -> Result<T, PolicyFileError> {
        let n = self.integer(value, key)?;
        let out_of_range =
            || self.error(value.span(), key, format!("{n} is out of range ({range})"));
        if n < min || n > max {
            return Err(out_of_range());
        }
        T::try_from(n).map_err(|_| out_of_range())
    }

    /// A finite number, integer or float.
    fn number(&self, value: &Value<'_>, key: &str) -> Result<f64, PolicyFileError> {
        let n = match value.get_ref() {
            DeValue::Integer(_) => self.integer(value, key)? as f64,
            DeValue::Float(f) => {
                let digits: String = f.as_str().chars().filter(|c| *c != '_').collect();
                digits.parse::<f64>().map_err(|_| self.type_error(value, key, "a number"))?
            }
            _ => return Err(self.type_error(value, key, "a number")),
        };
        if !n.is_finite() {
            return Err(self.error(value.span(), key, format!("{n} is not a finite number")));
        }
        Ok(n)
    }

    fn non_negative(&self, value: &Value<'_>, key: &str) -> Result<f64, PolicyFileError> {
        let n = self.number(value, key)?;
        if n < 0.0 {
            return Err(self.error(value.span(), key, format!("{n} is out of range (>= 0)")));
        }
        Ok(n)
    }

    fn situations(
        &self,
        value: &Value<'_>,
        key: &str,
    ) -> Result<Vec<(Situation, Range<usize>)>, PolicyFileError> {
        let mut out: Vec<(Situation, Range<usize>)> = Vec::new();
        for (name, span) in self.strings(value, key)? {
            let situation = Situation::parse(&name).ok_or_else(|| {
                self.error(
                    span.clone(),
                    key,
                    format!(
                        "unknown situation `{name}` (expected human_request, high_intent, \
                         complex_discovery, multiple_stakeholders, enterprise, sensitive, \
                         repeated_objection or score)"
                    ),
                )
            })?;
            // A repeated entry changes nothing; keep the first.
            if !out.iter().any(|(s, _)| *s == situation) {
                out.push((situation, span));
            }
        }
        Ok(out)
    }

    fn guards(&self, value: &Value<'_>, key: &str) -> Result<Vec<Guard>, PolicyFileError> {
        let mut out = Vec::new();
        for (name, span) in self.strings(value, key)? {
            let guard = Guard::parse(&name).ok_or_else(|| {
                self.error(
                    span,
                    key,
                    format!(
                        "unknown guard `{name}` (expected qualification_incomplete, \
                         scheduling or simple_question)"
                    ),
                )
            })?;
            if !out.contains(&guard) {
                out.push(guard);
            }
        }
        Ok(out)
    }

    fn signal(&self, name: &str, span: Range<usize>, key: &str) -> Result<Signal, PolicyFileError> {
        Signal::parse_key(name).map_err(|message| self.error(span, key, message))
    }

    fn weights(
        &self,
        value: &Value<'_>,
        key: &str,
    ) -> Result<[f64; Signal::ALL.len()], PolicyFileError> {
        let mut weights = [0.0; Signal::ALL.len()];
        for (k, v) in entries_in_file_order(self.table(value, key)?) {
            let entry_key = format!("{key}.{}", k.get_ref());
            let signal = self.signal(k.get_ref(), k.span(), &entry_key)?;
            weights[signal.index()] = self.non_negative(v, &entry_key)?;
        }
        Ok(weights)
    }

    /// Reads the keys of a policy table (`section` is `policy` or `quality`).
    fn policy_keys(
        &self,
        table: &DeTable<'_>,
        section: &str,
    ) -> Result<PolicyKeys, PolicyFileError> {
        let mut keys = PolicyKeys::default();
        for (k, v) in entries_in_file_order(table) {
            let name = k.get_ref().as_ref();
            let key = format!("{section}.{name}");
            let key = key.as_str();
            match name {
                "name" => keys.name = Some((self.string(v, key)?.to_string(), v.span())),
                "hand_off_on" => {
                    let situations = self.situations(v, key)?;
                    keys.hand_off_on =
                        Some((situations.into_iter().map(|(s, _)| s).collect(), v.span()));
                }
                "unless" => keys.unless = Some(self.guards(v, key)?),
                "bypass" => keys.bypass = Some((self.situations(v, key)?, v.span())),
                "min_qualified" => {
                    keys.min_qualified = Some(self.integer_in(v, key, 0, 4, "0 to 4")?)
                }
                "repeated_objection_after" => {
                    keys.repeated_objection_after =
                        Some(self.integer_in(v, key, 2, i64::from(u32::MAX), ">= 2")?)
                }
                "enterprise_employees" => {
                    keys.enterprise_employees =
                        Some(self.integer_in(v, key, 1, i64::MAX, ">= 1")?)
                }
                "min_turn" => {
                    keys.min_turn = Some(self.integer_in(v, key, 1, i64::from(u32::MAX), ">= 1")?)
                }
                "delay" => {
                    keys.delay = Some(self.integer_in(v, key, 0, i64::from(u32::MAX), ">= 0")?)
                }
                "weights" => keys.weights = Some(self.weights(v, key)?),
                "threshold" => keys.threshold = Some(self.non_negative(v, key)?),
                "late_after" if section == "quality" => {
                    keys.late_after =
                        Some(self.integer_in(v, key, 1, i64::from(u32::MAX), ">= 1")?)
                }
                _ => {
                    let extra = if section == "quality" { ", late_after" } else { "" };
                    return Err(self.error(
                        k.span(),
                        key,
                        format!("unknown key in [{section}] (expected {POLICY_KEYS}{extra})"),
                    ));
                }
            }
        }
        Ok(keys)
    }

    /// Applies read keys over `base` (which carries the section's defaults) and checks the
    /// rules that span several keys.
    fn build_policy(
        &self,
        keys: PolicyKeys,
        mut base: Policy,
        section: &str,
        table_span: Range<usize>,
    ) -> Result<Policy, PolicyFileError> {
        let hand_off_on_span = match keys.hand_off_on {
            Some((situations, span)) => {
                base.hand_off_on = situations;
                span
            }
            None => table_span,
        };
        base.bypass = match keys.bypass {
            Some((bypass, _)) => {
                if let Some((s, entry_span)) =
                    bypass.iter().find(|(s, _)| !base.hand_off_on.contains(s))
                {
                    return Err(self.error(
                        entry_span.clone(),
                        &format!("{section}.bypass"),
                        format!("`{s}` is not listed in hand_off_on"),
                    ));
                }
                bypass.into_iter().map(|(s, _)| s).collect()
            }
            None if base.hand_off_on.contains(&Situation::HumanRequest) => {
                vec![Situation::HumanRequest]
            }
            None => vec![],
        };
        if let Some(unless) = keys.unless {
            base.unless = unless;
        }
        if let Some(n) = keys.min_qualified {
            base.min_qualified = n;
        }
        if let Some(n) = keys.repeated_objection_after {
            base.repeated_objection_after = n;
        }
        if let Some(n) = keys.enterprise_employees {
            base.enterprise_employees = n;
        }
        if let Some(n) = keys.min_turn {
            base.min_turn = n;
        }
        if let Some(n) = keys.delay {
            base.delay = n;
        }
        let scored = base.hand_off_on.contains(&Situation::Score);
        if scored && (keys.weights.is_none() || keys.threshold.is_none()) {
            return Err(self.error(
                hand_off_on_span,
                &format!("{section}.hand_off_on"),
                "`score` is listed, so both `weights` and `threshold` are required".into(),
            ));
        }
        if let Some(w) = keys.weights {
            base.weights = w;
        }
        if let Some(t) = keys.threshold {
            base.threshold = t;
        }
        Ok(base)
    }

    fn policy(&self, value: &Value<'_>) -> Result<Policy, PolicyFileError> {
        let table = self.table(value, "policy")?;
        let keys = self.policy_keys(table, "policy")?;
        let Some((name, name_span)) = keys.name.clone() else {
            return Err(self.error(value.span(), "policy.name", "missing required key".into()));
        };
        check_policy_name(&name).map_err(|m| self.error(name_span, "policy.name", m))?;
        if keys.hand_off_on.is_none() {
            return Err(self.error(
                value.span(),
                "policy.hand_off_on",
                format!("missing required key in policy `{name}`"),
            ));
        }
        self.build_policy(keys, Policy::new(&name, vec![]), "policy", value.span())
    }

    /// A routed `[[policy]]`: exactly `name`, `route_by` and `route`, with a `"*"` route.
    fn routed(&self, value: &Value<'_>, position: usize) -> Result<RawRouted, PolicyFileError> {
        let table = self.table(value, "policy")?;
        let mut name: Option<String> = None;
        let mut route_by: Option<String> = None;
        let mut route: Option<&Value<'_>> = None;
        for (k, v) in entries_in_file_order(table) {
            let key_name = k.get_ref().as_ref();
            let key = format!("policy.{key_name}");
            match key_name {
                "name" => {
                    let n = self.string(v, &key)?;
                    check_policy_name(n).map_err(|m| self.error(v.span(), &key, m))?;
                    name = Some(n.to_string());
                }
                "route_by" => {
                    let column = self.string(v, &key)?.trim();
                    if column.is_empty() {
                        return Err(self.error(v.span(), &key, "must name a column".into()));
                    }
                    route_by = Some(column.to_string());
                }
                "route" => {
                    self.table(v, &key)?;
                    route = Some(v);
                }
                _ => {
                    return Err(self.error(
                        k.span(),
                        &key,
                        "a routed policy (one with route_by and route) takes only name, \
                         route_by and route"
                            .into(),
                    ))
                }
            }
        }
        let Some(name) = name else {
            return Err(self.error(value.span(), "policy.name", "missing required key".into()));
        };
        let Some(route_by) = route_by else {
            return Err(self.error(
                value.span(),
                "policy.route_by",
                format!("missing required key in routed policy `{name}`"),
            ));
        };
        let Some(route) = route else {
            return Err(self.error(
                value.span(),
                "policy.route",
                format!("missing required key in routed policy `{name}`"),
            ));
        };
        let mut routes: Vec<(String, String, Range<usize>)> = Vec::new();
        for (k, v) in entries_in_file_order(self.table(route, "policy.route")?) {
            let key = format!("policy.route.{}", k.get_ref());
            let target = self.string(v, &key)?.to_string();
            let normalised = if k.get_ref().as_ref() == FALLBACK {
                FALLBACK.to_string()
            } else {
                RoutedPolicy::normalise_key(&route_by, k.get_ref())
            };
            if normalised.is_empty() {
                return Err(self.error(
                    k.span(),
                    &key,
                    "an empty key matches no value (null and empty values take \"*\")".into(),
                ));
            }
            if routes.iter().any(|(r, _, _)| *r == normalised) {
                return Err(self.error(
                    k.span(),
                    &key,
                    format!("`{normalised}` is routed twice (keys are compared trimmed)"),
                ));
            }
            routes.push((normalised, target, v.span()));
        }
        if !routes.iter().any(|(k, _, _)| k == FALLBACK) {
            return Err(self.error(
                route.span(),
                "policy.route",
                format!(
                    "routed policy `{name}` has no \"*\" route (the policy of every other \
                     value, null and empty included)"
                ),
            ));
        }
        Ok(RawRouted { name, route_by, routes, position })
    }

    /// Resolves a routed policy's routes to plain policies of the file.
    fn resolve_routes(
        &self,
        raw: &RawRouted,
        plain: &[Policy],
        routed_names: &BTreeSet<&str>,
    ) -> Result<RoutedPolicy, PolicyFileError> {
        let mut routes = Vec::new();
        let mut fallback = 0;
        for (key, target, span) in &raw.routes {
            let entry = format!("policy.route.{key}");
            let index = match plain.iter().position(|p| p.name == *target) {
                Some(i) => i,
                None if target == "historical" => {
                    return Err(self.error(
                        span.clone(),
                        &entry,
                        "a route cannot name `historical` (the logged behaviour is no policy \
                         to deploy)"
                            .into(),
                    ))
                }
                None if routed_names.contains(target.as_str()) => {
                    return Err(self.error(
                        span.clone(),
                        &entry,
                        format!("`{target}` is a routed policy; a route names a plain policy"),
                    ))
                }
                None => {
                    return Err(self.error(
                        span.clone(),
                        &entry,
                        format!("no policy named `{target}`"),
                    ))
                }
            };
            if key == FALLBACK {
                fallback = index;
            } else {
                routes.push((key.clone(), index));
            }
        }
        Ok(RoutedPolicy {
            name: raw.name.clone(),
            route_by: raw.route_by.clone(),
            routes,
            fallback,
            position: raw.position,
        })
    }

    fn quality(&self, value: &Value<'_>) -> Result<QualityReference, PolicyFileError> {
        let table = self.table(value, "quality")?;
        let mut keys = self.policy_keys(table, "quality")?;
        let mut reference = QualityReference::default();
        if let Some((name, span)) = keys.name.take() {
            check_policy_name(&name).map_err(|m| self.error(span, "quality.name", m))?;
            reference.policy.name = name;
        }
        if let Some(late_after) = keys.late_after {
            reference.late_after = late_after;
        }
        reference.policy = self.build_policy(keys, reference.policy, "quality", value.span())?;
        Ok(reference)
    }

    fn lexicon(&self, value: &Value<'_>) -> Result<LexiconConfig, PolicyFileError> {
        read_lexicon_table(self.table(value, "lexicon")?)
            .map_err(|e| self.error(e.span, &e.key, e.message))
    }

    fn sweep(
        &self,
        value: &Value<'_>,
        policies: &[Policy],
        routed: &[RoutedPolicy],
    ) -> Result<Sweep, PolicyFileError> {
        let table = self.table(value, "sweep")?;
        let mut policy: Option<(&Policy, Range<usize>)> = None;
        let mut parameter: Option<(SweepParameter, Range<usize>)> = None;
        let mut grid: [Option<(f64, Range<usize>)>; 3] = [None, None, None];
        let mut values: Option<WithSpans<f64>> = None;
        let mut objective = Objective::Opportunities;
        let mut handoff_cost = 0.0;
        for (k, v) in entries_in_file_order(table) {
            let name = k.get_ref().as_ref();
            let key = format!("sweep.{name}");
            let key = key.as_str();
            match name {
                "policy" => {
                    let wanted = self.string(v, key)?;
                    if routed.iter().any(|r| r.name == wanted) {
                        return Err(self.error(
                            v.span(),
                            key,
                            format!(
                                "`{wanted}` is a routed policy; a sweep's base must be a plain \
                                 policy (sweep the policies it routes to instead)"
                            ),
                        ));
                    }
                    let found = policies.iter().find(|p| p.name == wanted).ok_or_else(|| {
                        self.error(v.span(), key, format!("no policy named `{wanted}`"))
                    })?;
                    policy = Some((found, v.span()));
                }
                "parameter" => {
                    let s = self.string(v, key)?;
                    let p = parse_parameter(s).map_err(|m| self.error(v.span(), key, m))?;
                    parameter = Some((p, v.span()));
                }
                "from" => grid[0] = Some((self.number(v, key)?, v.span())),
                "to" => grid[1] = Some((self.number(v, key)?, v.span())),
                "step" => grid[2] = Some((self.number(v, key)?, v.span())),
                "values" => {
                    let items = self.array(v, key)?;
                    let numbers = items
                        .iter()
                        .map(|item| Ok((self.number(item, key)?, item.span())))
                        .collect::<Result<Vec<_>, PolicyFileError>>()?;
                    values = Some((numbers, v.span()));
                }
                "objective" => {
                    let s = self.string(v, key)?;
                    objective = parse_objective(s).ok_or_else(|| {
                        self.error(
                            v.span(),
                            key,
                            format!("unknown objective `{s}` (expected meetings, opportunities or pipeline)"),
                        )
                    })?;
                }
                "handoff_cost" => handoff_cost = self.non_negative(v, key)?,
                _ => {
                    return Err(self.error(
                        k.span(),
                        key,
                        "unknown key in [[sweep]] (expected policy, parameter, from, to, step, \
                         values, objective, handoff_cost)"
                            .into(),
                    ))
                }
            }
        }
        let Some((policy, _)) = policy else {
            return Err(self.error(value.span(), "sweep.policy", "missing required key".into()));
        };
        let Some((parameter, parameter_span)) = parameter else {
            return Err(self.error(value.span(), "sweep.parameter", "missing required key".into()));
        };
        if matches!(parameter, SweepParameter::Threshold | SweepParameter::Weight(_))
            && !policy.hand_off_on.contains(&Situation::Score)
        {
            return Err(self.error(
                parameter_span,
                "sweep.parameter",
                format!(
                    "policy `{}` does not list `score` in hand_off_on, so it cannot take `{}`",
                    policy.name,
                    parameter.name()
                ),
            ));
        }
        let points = match (grid, values) {
            ([Some(from), Some(to), Some(step)], None) => self.grid(from, to, step)?,
            ([None, None, None], Some((values, span))) => {
                if values.is_empty() {
                    return Err(self.error(span, "sweep.values", "must not be empty".into()));
                }
                values
            }
            ([None, None, None], None) => {
                return Err(self.error(
                    value.span(),
                    "sweep.values",
                    "give either from, to and step, or values".into(),
                ))
            }
            (_, Some((_, span))) => {
                return Err(self.error(
                    span,
                    "sweep.values",
                    "give either from, to and step, or values, not both".into(),
                ))
            }
            (partial, None) => {
                let missing = ["from", "to", "step"]
                    .iter()
                    .zip(&partial)
                    .filter(|(_, v)| v.is_none())
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(self.error(
                    value.span(),
                    &format!("sweep.{}", missing.split(", ").next().unwrap_or("from")),
                    format!("a grid needs from, to and step; missing {missing}"),
                ));
            }
        };
        for (v, span) in &points {
            if let Some(problem) = parameter_value_problem(parameter, *v) {
                return Err(self.error(span.clone(), "sweep.values", problem));
            }
        }
        Ok(Sweep {
            policy: policy.name.clone(),
            parameter,
            values: points.into_iter().map(|(v, _)| v).collect(),
            objective,
            handoff_cost,
        })
    }

    /// A `[[search]]` block (search.md), its `"subsets"` expanded over the base.
    fn search(
        &self,
        value: &Value<'_>,
        policies: &[Policy],
        routed: &[RoutedPolicy],
    ) -> Result<Search, PolicyFileError> {
        let table = self.table(value, "search")?;
        let mut name: Option<String> = None;
        let mut base: Option<&Policy> = None;
        let mut objective = Objective::Opportunities;
        let mut handoff_cost = 0.0;
        // The varied keys as written, resolved once the base is known (it may come later).
        let mut varied: Vec<(String, &Value<'_>)> = Vec::new();
        for (k, v) in entries_in_file_order(table) {
            let key_name = k.get_ref().as_ref();
            let key = format!("search.{key_name}");
            let key = key.as_str();
            match key_name {
                "name" => {
                    let n = self.string(v, key)?;
                    check_search_name(n).map_err(|m| self.error(v.span(), key, m))?;
                    name = Some(n.to_string());
                }
                "policy" => {
                    let wanted = self.string(v, key)?;
                    if routed.iter().any(|r| r.name == wanted) {
                        return Err(self.error(
                            v.span(),
                            key,
                            format!(
                                "`{wanted}` is a routed policy; a search's base must be a \
                                 plain policy"
                            ),
                        ));
                    }
                    base = Some(policies.iter().find(|p| p.name == wanted).ok_or_else(|| {
                        self.error(v.span(), key, format!("no policy named `{wanted}`"))
                    })?);
                }
                "objective" => {
                    let s = self.string(v, key)?;
                    objective = parse_objective(s).ok_or_else(|| {
                        self.error(
                            v.span(),
                            key,
                            format!(
                                "unknown objective `{s}` (expected meetings, opportunities or \
                                 pipeline)"
                            ),
                        )
                    })?;
                }
                "handoff_cost" => handoff_cost = self.non_negative(v, key)?,
                "weights" => {
                    for (wk, wv) in entries_in_file_order(self.table(v, key)?) {
                        varied.push((format!("weights.{}", wk.get_ref()), wv));
                    }
                }
                _ => varied.push((key_name.to_string(), v)),
            }
        }
        let Some(name) = name else {
            return Err(self.error(value.span(), "search.name", "missing required key".into()));
        };
        let Some(base) = base else {
            return Err(self.error(value.span(), "search.policy", "missing required key".into()));
        };
        let mut keys: Vec<SearchKey> = Vec::new();
        for (key_name, v) in varied {
            let key = format!("search.{key_name}");
            let key = key.as_str();
            let search_key = match key_name.as_str() {
                "hand_off_on" => SearchKey::HandOffOn(self.alternatives(
                    v,
                    key,
                    |list| {
                        if list.is_empty() {
                            return Err("hand_off_on must not be empty".into());
                        }
                        list.iter()
                            .map(|s| Situation::parse(s).ok_or_else(|| unknown_situation(s)))
                            .collect()
                    },
                    || subsets(&base.hand_off_on, false),
                )?),
                "unless" => SearchKey::Unless(self.alternatives(
                    v,
                    key,
                    |list| {
                        list.iter()
                            .map(|g| {
                                Guard::parse(g).ok_or_else(|| {
                                    format!(
                                        "unknown guard `{g}` (expected qualification_incomplete, \
                                     scheduling or simple_question)"
                                    )
                                })
                            })
                            .collect()
                    },
                    || subsets(&base.unless, true),
                )?),
                "bypass" => SearchKey::Bypass(self.alternatives(
                    v,
                    key,
                    |list| {
                        list.iter()
                            .map(|s| Situation::parse(s).ok_or_else(|| unknown_situation(s)))
                            .collect()
                    },
                    || subsets(&base.hand_off_on, true),
                )?),
                other => {
                    let parameter = parse_parameter(other).map_err(|_| {
                        self.error(
                            v.span(),
                            key,
                            "unknown key in [[search]] (expected name, policy, objective, \
                             handoff_cost, hand_off_on, unless, bypass, threshold, delay, \
                             min_turn, min_qualified, repeated_objection_after, \
                             enterprise_employees or weights.<signal>)"
                                .into(),
                        )
                    })?;
                    if matches!(parameter, SweepParameter::Threshold | SweepParameter::Weight(_))
                        && !base.hand_off_on.contains(&Situation::Score)
                    {
                        return Err(self.error(
                            v.span(),
                            key,
                            format!(
                                "policy `{}` does not list `score` in hand_off_on, so it cannot \
                                 take `{}`",
                                base.name,
                                parameter.name()
                            ),
                        ));
                    }
                    let items = self.array(v, key)?;
                    if items.is_empty() {
                        return Err(self.error(v.span(), key, "must not be empty".into()));
                    }
                    let mut values = Vec::with_capacity(items.len());
                    for item in items {
                        let n = self.number(item, key)?;
                        if let Some(problem) = parameter_value_problem(parameter, n) {
                            return Err(self.error(item.span(), key, problem));
                        }
                        values.push(super::sweep::round_value(n));
                    }
                    SearchKey::Numeric(parameter, values)
                }
            };
            if keys.iter().any(|k| k.name() == search_key.name()) {
                return Err(self.error(v.span(), key, "is varied twice".into()));
            }
            if search_key.is_empty() {
                return Err(self.error(v.span(), key, "leaves no alternative".into()));
            }
            keys.push(search_key);
        }
        Ok(Search {
            name,
            policy: base.name.clone(),
            objective,
            handoff_cost,
            keys,
            line: self.line(&value.span()),
        })
    }

    /// A list key of a search: `"subsets"` (what `subsets` gives) or a non-empty list of
    /// alternatives, each a list of names read by `item`.
    fn alternatives<T: PartialEq>(
        &self,
        value: &Value<'_>,
        key: &str,
        item: impl Fn(&[String]) -> Result<Vec<T>, String>,
        subsets: impl FnOnce() -> Vec<Vec<T>>,
    ) -> Result<Vec<Vec<T>>, PolicyFileError> {
        if let Some(s) = value.get_ref().as_str() {
            if s == "subsets" {
                return Ok(subsets());
            }
            return Err(self.error(
                value.span(),
                key,
                format!("expected \"subsets\" or a list of alternatives, found \"{s}\""),
            ));
        }
        let items = self.array(value, key)?;
        if items.is_empty() {
            return Err(self.error(value.span(), key, "must not be empty".into()));
        }
        let mut out = Vec::with_capacity(items.len());
        for alternative in items {
            let names: Vec<String> =
                self.strings(alternative, key)?.into_iter().map(|(n, _)| n).collect();
            let mut list = item(&names).map_err(|m| self.error(alternative.span(), key, m))?;
            dedup_in_order(&mut list);
            out.push(list);
        }
        Ok(out)
    }

    /// `from + i * step` while it does not pass `to` by more than 1e-9; each point carries the
    /// span blamed for a bad value (`from` for the first point, `step` for the others).
    fn grid(
        &self,
        (from, from_span): (f64, Range<usize>),
        (to, to_span): (f64, Range<usize>),
        (step, step_span): (f64, Range<usize>),
    ) -> Result<Vec<(f64, Range<usize>)>, PolicyFileError> {
        if step <= 0.0 {
            return Err(self.error(step_span, "sweep.step", format!("{step} must be > 0")));
        }
        if from > to + GRID_TOLERANCE {
            return Err(self.error(to_span, "sweep.to", format!("{to} is below from ({from})")));
        }
        let mut points = Vec::new();
        for i in 0.. {
            let v = from + f64::from(i) * step;
            if v > to + GRID_TOLERANCE {
                break;
            }
            if points.len() == MAX_SWEEP_POINTS {
                return Err(self.error(
                    step_span,
                    "sweep.step",
                    format!("the grid has more than {MAX_SWEEP_POINTS} points"),
                ));
            }
            let span = if i == 0 { from_span.clone() } else { step_span.clone() };
            points.push((v, span));
        }
        Ok(points)
    }
}

/// Names are letters, digits, `-` and `_`, and not the reserved `historical`.
fn check_policy_name(name: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!("`{name}` is not a valid name (letters, digits, '-' and '_' only)"));
    }
    if name == "historical" {
        return Err("`historical` is reserved for the logged behaviour".into());
    }
    Ok(())
}

fn check_search_name(name: &str) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!("`{name}` is not a valid name (letters, digits, '-' and '_' only)"));
    }
    Ok(())
}

fn unknown_situation(name: &str) -> String {
    format!(
        "unknown situation `{name}` (expected human_request, high_intent, complex_discovery, \
         multiple_stakeholders, enterprise, sensitive, repeated_objection or score)"
    )
}

/// Keeps the first of repeated entries (a repeated entry changes nothing).
fn dedup_in_order<T: PartialEq>(list: &mut Vec<T>) {
    let mut kept: Vec<T> = Vec::with_capacity(list.len());
    for x in list.drain(..) {
        if !kept.contains(&x) {
            kept.push(x);
        }
    }
    *list = kept;
}

fn parse_parameter(s: &str) -> Result<SweepParameter, String> {
    Ok(match s {
        "threshold" => SweepParameter::Threshold,
        "delay" => SweepParameter::Delay,
        "min_turn" => SweepParameter::MinTurn,
        "min_qualified" => SweepParameter::MinQualified,
        "repeated_objection_after" => SweepParameter::RepeatedObjectionAfter,
        "enterprise_employees" => SweepParameter::EnterpriseEmployees,
        other => match other.strip_prefix("weights.") {
            Some(signal) => SweepParameter::Weight(
                Signal::parse_exact(signal)
                    .ok_or_else(|| format!("unknown signal `{signal}` in `{other}`"))?,
            ),
            None => {
                return Err(format!(
                    "unknown parameter `{other}` (expected threshold, delay, min_turn, \
                     min_qualified, repeated_objection_after, enterprise_employees or \
                     weights.<signal>)"
                ))
            }
        },
    })
}

fn parse_objective(s: &str) -> Option<Objective> {
    match s {
        "meetings" => Some(Objective::Meetings),
        "opportunities" => Some(Objective::Opportunities),
        "pipeline" => Some(Objective::Pipeline),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PoliciesFile, PolicyFileError> {
        parse_policies(text, "p.toml")
    }

    /// Asserts that `text` fails at `line` naming `key`, with `fragment` in the message.
    fn fails(text: &str, line: usize, key: &str, fragment: &str) {
        match parse(text) {
            Err(e @ PolicyFileError::Invalid { .. }) => {
                let PolicyFileError::Invalid { path, line: l, key: k, message } = &e else {
                    unreachable!()
                };
                assert_eq!(path, "p.toml");
                assert_eq!((*l, k.as_str()), (line, key), "{e}");
                assert!(message.contains(fragment), "`{fragment}` not in: {e}");
                let shown = e.to_string();
                assert!(shown.starts_with(&format!("p.toml: line {line}: {key}: ")), "{shown}");
            }
            other => panic!("expected an error at line {line} for {key}, got {other:?}"),
        }
    }

    const FRAMEWORK: &str = r#"
signal_source = "both"

[[policy]]
name = "framework"
hand_off_on = ["human_request", "high_intent", "complex_discovery",
               "multiple_stakeholders", "enterprise", "sensitive", "repeated_objection"]
unless = ["qualification_incomplete", "scheduling", "simple_question"]

[[policy]]
name = "intent-score"
hand_off_on = ["score"]
weights = { pricing = 0.5, "objection:price" = 1 }
threshold = 0.75
delay = 1
min_turn = 2

[[sweep]]
policy = "intent-score"
parameter = "threshold"
from = 0.1
to = 0.3
step = 0.1
objective = "pipeline"
handoff_cost = 0.5

[lexicon]
competitor = ["acme crm"]

[lexicon.extend]
pricing = ["what's the damage"]

[quality]
late_after = 3
min_qualified = 2
"#;

    #[test]
    fn a_full_file_parses_with_defaults_filled() {
        let f = parse(FRAMEWORK).unwrap();
        assert_eq!(f.signal_source, Some(SignalSource::Both));
        assert_eq!(f.policies.len(), 2);
        let fw = &f.policies[0];
        assert_eq!(fw.hand_off_on, Situation::SEVEN.to_vec());
        assert_eq!(fw.bypass, vec![Situation::HumanRequest]);
        assert_eq!(fw.unless, Guard::ALL.to_vec());
        assert_eq!((fw.min_qualified, fw.repeated_objection_after), (3, 2));
        assert_eq!((fw.enterprise_employees, fw.min_turn, fw.delay), (1000, 1, 0));
        let score = &f.policies[1];
        assert_eq!(score.bypass, vec![]);
        assert_eq!(score.unless, vec![]);
        assert_eq!(score.weight(Signal::Pricing), 0.5);
        assert_eq!(score.weight(Signal::ObjectionPrice), 1.0);
        assert_eq!((score.threshold, score.delay, score.min_turn), (0.75, 1, 2));
        let sweep = &f.sweeps[0];
        assert_eq!(sweep.parameter, SweepParameter::Threshold);
        assert_eq!(sweep.values.len(), 3);
        assert_eq!((sweep.objective, sweep.handoff_cost), (Objective::Pipeline, 0.5));
        assert_eq!(f.lexicon.overrides[&Signal::Competitor], vec!["acme crm".to_string()]);
        assert_eq!(f.lexicon.extend[&Signal::Pricing], vec!["what's the damage".to_string()]);
        assert_eq!(f.quality.late_after, 3);
        assert_eq!(f.quality.policy.min_qualified, 2);
        assert_eq!(f.quality.policy.hand_off_on, Situation::SEVEN.to_vec());
        assert_eq!(f.quality.policy.unless, Guard::ALL.to_vec());
    }

    #[test]
    fn an_empty_file_has_the_default_quality_reference() {
        let f = parse("").unwrap();
        assert_eq!(f, PoliciesFile::default());
        assert_eq!(f.quality.late_after, 2);
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        fails("signal_source = \"tags\"\ncolour = 1\n", 2, "colour", "unknown top-level key");
        fails(
            "[[policy]]\nname = \"a\"\nhand_off_on = []\nmin_turns = 2\n",
            4,
            "policy.min_turns",
            "unknown key",
        );
        fails("[[policy]]\nname = \"a\"\nhand_off_on = []\n[[sweep]]\npolicy = \"a\"\nparameter = \"delay\"\nvalues = [1]\nfoo = 1\n", 8, "sweep.foo", "unknown key");
        fails("[quality]\nlate = 2\n", 2, "quality.late", "unknown key");
        fails("[lexicon]\npricey = [\"x\"]\n", 2, "lexicon.pricey", "unknown signal");
        fails(
            "[lexicon.extend]\n\n\"objection:cost\" = [\"x\"]\n",
            3,
            "lexicon.extend.objection:cost",
            "unknown signal",
        );
        fails("[other]\nx = 1\n", 1, "other", "unknown top-level key");
    }

    #[test]
    fn unknown_situations_guards_and_signals_are_errors() {
        fails(
            "[[policy]]\nname = \"a\"\nhand_off_on = [\"high_intent\",\n  \"sales\"]\n",
            4,
            "policy.hand_off_on",
            "unknown situation `sales`",
        );
        fails(
            "[[policy]]\nname = \"a\"\nhand_off_on = []\nunless = [\"busy\"]\n",
            4,
            "policy.unless",
            "unknown guard `busy`",
        );
        fails(
            "[[policy]]\nname = \"a\"\nhand_off_on = [\"human_request\"]\nbypass = [\"urgent\"]\n",
            4,
            "policy.bypass",
            "unknown situation",
        );
        fails("[[policy]]\nname = \"a\"\nhand_off_on = [\"score\"]\nthreshold = 1\n[policy.weights]\npricing = 1\ncost = 2\n", 7, "policy.weights.cost", "unknown signal `cost`");
    }

    #[test]
    fn wrong_types_are_errors() {
        fails(
            "[[policy]]\nname = \"a\"\nhand_off_on = []\nmin_turn = 1.5\n",
            4,
            "policy.min_turn",
            "expected an integer",
        );
        fails(
            "[[policy]]\nname = \"a\"\nhand_off_on = []\ndelay = 1.0\n",
            4,
            "policy.delay",
            "expected an integer",
        );
        fails(
            "[[policy]]\nname = \"a\"\nhand_off_on = \"high_intent\"\n",
            3,
            "policy.hand_off_on",
            "expected an array",
        );
        fails("signal_source = 3\n", 1, "signal_source", "expected a string");
        fails("\ndetector = \"bayes\"\n", 2, "detector", "unknown detector `bayes`");
        fails("detector = 1\n", 1, "detector", "expected a string");
        fails(
            "signal_source = \"text\"\ndetector_model = \" \"\n",
            2,
            "detector_model",
            "a blank path",
        );
        fails("detector_model = []\n", 1, "detector_model", "expected a string");
        let f = parse_policies("detector = \"model\"\ndetector_model = \"m.bin\"\n", "p.toml");
        let f = f.expect("valid");
        assert_eq!(f.detector, Some(DetectorKind::Model));
        assert_eq!(f.detector_model, Some(std::path::PathBuf::from("m.bin")));
        fails("signal_source = \"regex\"\n", 1, "signal_source", "unknown source");
        fails("[policy]\nname = \"a\"\n", 1, "policy", "array of tables");
        fails("[[policy]]\nname = \"a\"\nhand_off_on = [\"score\"]\nthreshold = \"high\"\nweights = {}\n", 4, "policy.threshold", "expected a number");
    }

    #[test]
    fn values_out_of_range_are_errors() {
        let base = "[[policy]]\nname = \"a\"\nhand_off_on = []\n";
        for (line, key, fragment) in [
            ("min_turn = 0", "policy.min_turn", ">= 1"),
            ("delay = -1", "policy.delay", ">= 0"),
            ("min_qualified = 5", "policy.min_qualified", "0 to 4"),
            ("min_qualified = -1", "policy.min_qualified", "0 to 4"),
            ("repeated_objection_after = 1", "policy.repeated_objection_after", ">= 2"),
            ("enterprise_employees = 0", "policy.enterprise_employees", ">= 1"),
            ("threshold = -0.5", "policy.threshold", ">= 0"),
            ("weights = { pricing = -1 }", "policy.weights.pricing", ">= 0"),
        ] {
            fails(&format!("{base}{line}\n"), 4, key, fragment);
        }
        fails("[quality]\nlate_after = 0\n", 2, "quality.late_after", ">= 1");
        assert!(parse(&format!("{base}min_qualified = 0\ndelay = 0\n")).is_ok());
    }

    #[test]
    fn bypass_must_be_listed_and_defaults_follow_hand_off_on() {
        fails("[[policy]]\nname = \"a\"\nhand_off_on = [\"high_intent\"]\nbypass = [\"human_request\"]\n", 4, "policy.bypass", "not listed in hand_off_on");
        let f = parse("[[policy]]\nname = \"a\"\nhand_off_on = [\"high_intent\", \"human_request\"]\nbypass = []\n").unwrap();
        assert_eq!(f.policies[0].bypass, vec![]);
        let f = parse("[[policy]]\nname = \"a\"\nhand_off_on = [\"high_intent\", \"sensitive\"]\nbypass = [\"sensitive\"]\n").unwrap();
        assert_eq!(f.policies[0].bypass, vec![Situation::Sensitive]);
    }

    #[test]
    fn score_needs_weights_and_threshold() {
        fails(
            "[[policy]]\nname = \"a\"\nhand_off_on = [\"score\"]\nthreshold = 1\n",
            3,
            "policy.hand_off_on",
            "`score`",
        );
        fails(
            "[[policy]]\nname = \"a\"\nhand_off_on = [\"score\"]\nweights = { pricing = 1 }\n",
            3,
            "policy.hand_off_on",
            "`score`",
        );
    }

    #[test]
    fn names_are_checked() {
        fails("[[policy]]\nname = \"a\"\nhand_off_on = []\n[[policy]]\nname = \"a\"\nhand_off_on = []\n", 5, "policy.name", "duplicate");
        fails(
            "[[policy]]\nname = \"historical\"\nhand_off_on = []\n",
            2,
            "policy.name",
            "reserved",
        );
        fails(
            "[[policy]]\nname = \"my policy\"\nhand_off_on = []\n",
            2,
            "policy.name",
            "not a valid name",
        );
        fails("[[policy]]\nname = \"\"\nhand_off_on = []\n", 2, "policy.name", "not a valid name");
        fails("\n[[policy]]\nhand_off_on = []\n", 2, "policy.name", "missing");
        fails("[[policy]]\nname = \"a\"\n", 1, "policy.hand_off_on", "missing");
    }

    const BASE: &str = "[[policy]]\nname = \"s\"\nhand_off_on = [\"score\", \"high_intent\"]\nweights = { pricing = 1 }\nthreshold = 1\n[[sweep]]\npolicy = \"s\"\n";

    #[test]
    fn sweep_errors() {
        let unknown = BASE.replace("policy = \"s\"\n", "policy = \"t\"\n");
        fails(
            &format!("{unknown}parameter = \"delay\"\nvalues = [1]\n"),
            7,
            "sweep.policy",
            "no policy named `t`",
        );
        fails(
            &format!("{BASE}parameter = \"speed\"\nvalues = [1]\n"),
            8,
            "sweep.parameter",
            "unknown parameter",
        );
        fails(
            &format!("{BASE}parameter = \"weights.cost\"\nvalues = [1]\n"),
            8,
            "sweep.parameter",
            "unknown signal",
        );
        fails(
            &format!("{BASE}parameter = \"delay\"\nvalues = [1]\nfrom = 1\nto = 2\nstep = 1\n"),
            9,
            "sweep.values",
            "not both",
        );
        fails(&format!("{BASE}parameter = \"delay\"\n"), 6, "sweep.values", "either");
        fails(
            &format!("{BASE}parameter = \"delay\"\nfrom = 0\nto = 2\n"),
            6,
            "sweep.step",
            "missing step",
        );
        fails(
            &format!("{BASE}parameter = \"delay\"\nfrom = 0\nto = 2\nstep = 0\n"),
            11,
            "sweep.step",
            "> 0",
        );
        fails(
            &format!("{BASE}parameter = \"delay\"\nfrom = 0\nto = 2\nstep = -1\n"),
            11,
            "sweep.step",
            "> 0",
        );
        fails(
            &format!("{BASE}parameter = \"delay\"\nvalues = [0, -1]\n"),
            9,
            "sweep.values",
            "out of range",
        );
        fails(
            &format!("{BASE}parameter = \"delay\"\nvalues = [0,\n 1.5]\n"),
            10,
            "sweep.values",
            "not an integer",
        );
        fails(
            &format!("{BASE}parameter = \"min_qualified\"\nfrom = 0\nto = 2\nstep = 0.5\n"),
            11,
            "sweep.values",
            "not an integer",
        );
        fails(
            &format!("{BASE}parameter = \"min_qualified\"\nvalues = [5]\n"),
            9,
            "sweep.values",
            "out of range",
        );
        fails(
            &format!("{BASE}parameter = \"threshold\"\nvalues = [-0.1]\n"),
            9,
            "sweep.values",
            ">= 0",
        );
        fails(&format!("{BASE}parameter = \"delay\"\nvalues = []\n"), 9, "sweep.values", "empty");
        fails(
            &format!("{BASE}parameter = \"delay\"\nvalues = [1]\nobjective = \"revenue\"\n"),
            10,
            "sweep.objective",
            "unknown objective",
        );
        let no_score = "[[policy]]\nname = \"s\"\nhand_off_on = [\"high_intent\"]\n[[sweep]]\npolicy = \"s\"\nparameter = \"threshold\"\nvalues = [1]\n";
        fails(no_score, 6, "sweep.parameter", "cannot take");
    }

    #[test]
    fn sweep_grid_stops_within_tolerance_of_to() {
        let f =
            parse(&format!("{BASE}parameter = \"threshold\"\nfrom = 0.1\nto = 0.3\nstep = 0.1\n"))
                .unwrap();
        assert_eq!(f.sweeps[0].values.len(), 3);
        let f =
            parse(&format!("{BASE}parameter = \"delay\"\nfrom = 0\nto = 2.5\nstep = 1\n")).unwrap();
        assert_eq!(f.sweeps[0].values, vec![0.0, 1.0, 2.0]);
        let f = parse(&format!(
            "{BASE}parameter = \"weights.objection:price\"\nvalues = [0.5, 2]\nhandoff_cost = 1\n"
        ))
        .unwrap();
        assert_eq!(f.sweeps[0].parameter, SweepParameter::Weight(Signal::ObjectionPrice));
        assert_eq!(f.sweeps[0].objective, Objective::Opportunities);
    }

    const ROUTED: &str = "[[policy]]\nname = \"a\"\nhand_off_on = []\n[[policy]]\nname = \"r\"\nroute_by = \"segment\"\n[policy.route]\n";

    #[test]
    fn a_routed_policy_parses_in_file_order() {
        let text = "[[policy]]\nname = \"a\"\nhand_off_on = []\n[[policy]]\nname = \"r\"\nroute_by = \" segment \"\nroute = { \" SMB \" = \"b\", \"*\" = \"a\", \"(none)\" = \"b\" }\n[[policy]]\nname = \"b\"\nhand_off_on = [\"high_intent\"]\n";
        let f = parse(text).unwrap();
        assert_eq!(f.policies.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        let r = &f.routed[0];
        assert_eq!((r.name.as_str(), r.route_by.as_str(), r.position), ("r", "segment", 1));
        // Keys trimmed and, for segment, lower-cased; "(none)" is a literal value.
        assert_eq!(r.routes, vec![("smb".to_string(), 1), ("(none)".to_string(), 1)]);
        assert_eq!(r.fallback, 0);
        let f = parse(&format!("{ROUTED}\"*\" = \"a\"\n[[sweep]]\npolicy = \"a\"\nparameter = \"delay\"\nvalues = [1]\n")).unwrap();
        assert_eq!((f.routed.len(), f.sweeps.len()), (1, 1));
        // Keys of other columns keep their case.
        let f = parse("[[policy]]\nname = \"a\"\nhand_off_on = []\n[[policy]]\nname = \"r\"\nroute_by = \"region\"\nroute = { EU = \"a\", \"*\" = \"a\" }\n").unwrap();
        assert_eq!(f.routed[0].routes, vec![("EU".to_string(), 0)]);
    }

    #[test]
    fn routed_policy_errors_name_the_line_and_key() {
        fails(
            &format!("{ROUTED}\"*\" = \"a\"\n")
                .replace("route_by = \"segment\"\n", "route_by = \"segment\"\ndelay = 1\n"),
            7,
            "policy.delay",
            "takes only name, route_by and route",
        );
        fails(
            &format!("{ROUTED}\"*\" = \"a\"\n")
                .replace("route_by = \"segment\"\n", "route_by = \"segment\"\nhand_off_on = []\n"),
            7,
            "policy.hand_off_on",
            "takes only",
        );
        fails(
            &format!("{ROUTED}smb = \"zz\"\n\"*\" = \"a\"\n"),
            8,
            "policy.route.smb",
            "no policy named `zz`",
        );
        fails(
            &format!("{ROUTED}smb = \"historical\"\n\"*\" = \"a\"\n"),
            8,
            "policy.route.smb",
            "`historical`",
        );
        fails(&format!("{ROUTED}\"*\" = \"r\"\n"), 8, "policy.route.*", "is a routed policy");
        fails(&format!("{ROUTED}smb = \"a\"\n"), 7, "policy.route", "no \"*\" route");
        fails(
            &format!("{ROUTED}smb = \"a\"\n\" SMB\" = \"a\"\n\"*\" = \"a\"\n"),
            9,
            "policy.route. SMB",
            "routed twice",
        );
        fails(&format!("{ROUTED}\" \" = \"a\"\n\"*\" = \"a\"\n"), 8, "policy.route. ", "empty key");
        fails(
            &format!("{ROUTED}smb = 3\n\"*\" = \"a\"\n"),
            8,
            "policy.route.smb",
            "expected a string",
        );
        fails(
            "[[policy]]\nname = \"r\"\nroute = { \"*\" = \"a\" }\n",
            1,
            "policy.route_by",
            "missing",
        );
        fails("[[policy]]\nname = \"r\"\nroute_by = \"segment\"\n", 1, "policy.route", "missing");
        fails(
            "[[policy]]\nroute_by = \"segment\"\nroute = { \"*\" = \"a\" }\n",
            1,
            "policy.name",
            "missing",
        );
        fails(
            "[[policy]]\nname = \"r\"\nroute_by = 1\nroute = { \"*\" = \"a\" }\n",
            3,
            "policy.route_by",
            "expected a string",
        );
        fails(
            "[[policy]]\nname = \"r\"\nroute_by = \"segment\"\nroute = \"a\"\n",
            4,
            "policy.route",
            "expected a table",
        );
        fails(
            &format!("{ROUTED}\"*\" = \"a\"\n").replace("name = \"r\"", "name = \"a\""),
            5,
            "policy.name",
            "duplicate",
        );
        fails(
            &format!("{ROUTED}\"*\" = \"a\"\n").replace("name = \"r\"", "name = \"historical\""),
            5,
            "policy.name",
            "reserved",
        );
        fails(
            &format!("{ROUTED}\"*\" = \"a\"\n[[sweep]]\npolicy = \"r\"\nparameter = \"delay\"\nvalues = [1]\n"),
            10,
            "sweep.policy",
            "is a routed policy",
        );
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        fails("[[policy]]\nname = \"a\"\nhand_off_on = [\n", 3, "(syntax)", "");
        fails("a = 1\na = 2\n", 2, "(syntax)", "");
    }

    #[test]
    fn blank_lexicon_phrases_are_errors() {
        fails("[lexicon]\npricing = [\"cost\", \"  \"]\n", 2, "lexicon.pricing", "blank");
    }
    const SEARCH_BASE: &str = "[[policy]]\nname = \"a\"\nhand_off_on = [\"human_request\", \"high_intent\"]\nunless = [\"scheduling\"]\n[[search]]\nname = \"s\"\npolicy = \"a\"\n";

    #[test]
    fn a_search_parses_its_keys_in_order() {
        let text = format!("{SEARCH_BASE}hand_off_on = \"subsets\"\nunless = [[], [\"scheduling\", \"scheduling\"]]\n\"weights.pricing\" = [0.5]\ndelay = [0, 2]\n");
        // weights need `score` in the base.
        fails(&text, 10, "search.weights.pricing", "does not list `score`");
        let text = format!("{SEARCH_BASE}hand_off_on = \"subsets\"\nunless = [[], [\"scheduling\", \"scheduling\"]]\ndelay = [0, 2]\nobjective = \"meetings\"\nhandoff_cost = 0.1\n");
        let f = parse(&text).unwrap();
        let s = &f.searches[0];
        assert_eq!((s.name.as_str(), s.policy.as_str(), s.line), ("s", "a", 5));
        assert_eq!((s.objective, s.handoff_cost), (Objective::Meetings, 0.1));
        assert_eq!(s.keys.len(), 3);
        assert_eq!(
            s.keys[0],
            SearchKey::HandOffOn(vec![
                vec![Situation::HumanRequest, Situation::HighIntent],
                vec![Situation::HumanRequest],
                vec![Situation::HighIntent],
            ])
        );
        assert_eq!(s.keys[1], SearchKey::Unless(vec![vec![], vec![Guard::Scheduling]]));
        assert_eq!(s.keys[2], SearchKey::Numeric(SweepParameter::Delay, vec![0.0, 2.0]));
        assert_eq!(s.family_size(), 1 + 3 * 2 * 2);
    }

    #[test]
    fn search_errors_name_the_line_and_key() {
        fails(
            &format!("{SEARCH_BASE}colour = [1]\n"),
            8,
            "search.colour",
            "unknown key in [[search]]",
        );
        fails(&format!("{SEARCH_BASE}delay = []\n"), 8, "search.delay", "must not be empty");
        fails(&format!("{SEARCH_BASE}delay = [0, -1]\n"), 8, "search.delay", "out of range");
        fails(
            &format!("{SEARCH_BASE}min_qualified = [5]\n"),
            8,
            "search.min_qualified",
            "out of range",
        );
        fails(&format!("{SEARCH_BASE}unless = \"all\"\n"), 8, "search.unless", "\"subsets\"");
        fails(
            &format!("{SEARCH_BASE}hand_off_on = [[]]\n"),
            8,
            "search.hand_off_on",
            "must not be empty",
        );
        fails(
            &format!("{SEARCH_BASE}bypass = [[\"nope\"]]\n"),
            8,
            "search.bypass",
            "unknown situation",
        );
        fails(
            "[[policy]]\nname = \"a\"\nhand_off_on = []\n[[search]]\npolicy = \"a\"\n",
            4,
            "search.name",
            "missing",
        );
        fails("[[policy]]\nname = \"a\"\nhand_off_on = []\n[[search]]\nname = \"s\"\npolicy = \"b\"\n", 6, "search.policy", "no policy named `b`");
        fails(
            &format!("{SEARCH_BASE}[[search]]\nname = \"s\"\npolicy = \"a\"\n"),
            9,
            "search.name",
            "duplicate search name",
        );
        fails("[[policy]]\nname = \"a\"\nhand_off_on = []\n[[search]]\nname = \"s s\"\npolicy = \"a\"\n", 5, "search.name", "not a valid name");
    }
}
