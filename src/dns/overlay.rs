//! Zone data answering queries, over live DNS or alone (`--offline`).
//!
//! It exists so that unpublished or hypothetical DNS (a zone file, records given on the command
//! line) can be evaluated exactly as live DNS would be: [`ZoneData`] holds the records and
//! answers the way an authoritative server would (CNAME chasing, NXDOMAIN versus NODATA,
//! empty non-terminals); [`Overlay`] puts it in front of a live resolver, overriding only the
//! (name, type) pairs the data contains.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use super::zone::{ZoneError, parse_zone};
use super::{Answer, RData, RType, Record, Resolver, Response, normalize_name, normalized};

/// Most CNAMEs followed for one query before giving up (RFC 1034 §3.6.2 asks resolvers to
/// bound the chain; 8 is what common resolvers use).
pub const MAX_CNAME_HOPS: usize = 8;

/// The name table's hash: foldhash, seeded per process (names come from zone files and from
/// DNS, so a fixed-key hash would let crafted names collide), several times faster than
/// SipHash on the short keys looked up for every query.
type NameMap<V> = std::collections::HashMap<Box<str>, V, foldhash::fast::RandomState>;

/// Records by owner name (compared case-insensitively, trailing dot ignored).
#[derive(Debug, Clone, Default)]
pub struct ZoneData {
    records: Vec<Record>,
    /// Every name that exists in the data: owner names, and their proper ancestors, which
    /// exist as empty non-terminals (RFC 8020) when they own nothing. Keys are normalized.
    names: NameMap<NameEntry>,
}

/// One existing name of the zone data.
#[derive(Debug, Clone, Default)]
struct NameEntry {
    /// Indexes into `ZoneData::records` of the records it owns, in insertion order (empty for
    /// an empty non-terminal).
    records: Vec<usize>,
    /// `*.<this name>` exists: a name below this one may be synthesised from it (RFC 4592).
    wildcard_below: bool,
    /// The answers at this name, built from `records` on its first lookup (and rebuilt after
    /// a record is added to it), so that a query clones a shared slice, not the records.
    sets: OnceLock<Sets>,
}

/// The records of one name grouped for answering.
#[derive(Debug, Clone, Default)]
struct Sets {
    /// Per [`RType`] (see [`RType::index`]): the records of that type and their smallest TTL.
    by_type: [Option<(Arc<[RData]>, u32)>; RType::COUNT],
    /// The first CNAME record's target (normalized) and TTL.
    cname: Option<(String, u32)>,
}

/// What zone data alone says about one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneLookup {
    /// The data answers the query by itself (records, possibly via CNAMEs inside the data, or
    /// an error such as a CNAME loop).
    Answered(Answer),
    /// The name (or the end of a CNAME chain inside the data) has no records of the asked type
    /// and no CNAME here: the answer depends on `name`'s type-`rtype` records elsewhere.
    /// `ttl` is the smallest TTL of the CNAMEs followed so far (`None`: no CNAME followed,
    /// `name` is the queried name).
    Delegate { name: String, ttl: Option<u32> },
}

/// [`ZoneLookup`] without copying the final name, and whether that name exists in the data.
enum Walk<'a> {
    Answered(Answer),
    Delegate {
        name: Cow<'a, str>,
        ttl: Option<u32>,
        exists: bool,
    },
}

impl ZoneData {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses master-file text (see [`parse_zone`]) into zone data.
    pub fn from_zone_text(text: &str, origin: Option<&str>) -> Result<Self, ZoneError> {
        let mut z = ZoneData::new();
        z.extend(parse_zone(text, origin)?);
        Ok(z)
    }

    pub fn add(&mut self, name: &str, ttl: u32, data: RData) {
        self.push(Record {
            name: name.to_string(),
            ttl,
            data,
        });
    }

    pub fn extend(&mut self, records: impl IntoIterator<Item = Record>) {
        for r in records {
            self.push(r);
        }
    }

    fn push(&mut self, mut record: Record) {
        record.name = normalize_name(&record.name);
        let index = self.records.len();
        let mut child = record.name.as_str();
        let mut child_is_new = false;
        if let Some(entry) = self.names.get_mut(child) {
            entry.records.push(index);
            entry.sets = OnceLock::new();
        } else {
            let entry = NameEntry {
                records: vec![index],
                ..NameEntry::default()
            };
            self.names.insert(child.into(), entry);
            child_is_new = true;
        }
        // RFC 8020: a name below which records exist does exist (as an empty non-terminal).
        // A name already present had its ancestors inserted with it.
        while child_is_new {
            let Some((label, parent)) = split_first_label(child) else {
                break;
            };
            child_is_new = false;
            if let Some(entry) = self.names.get_mut(parent) {
                entry.wildcard_below |= label == "*";
            } else {
                let entry = NameEntry {
                    wildcard_below: label == "*",
                    ..NameEntry::default()
                };
                self.names.insert(parent.into(), entry);
                child_is_new = true;
            }
            child = parent;
        }
        self.records.push(record);
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// All records, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &Record> {
        self.records.iter()
    }

    /// All records, in insertion order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The records owned by `name` (any type).
    pub fn records_at(&self, name: &str) -> impl Iterator<Item = &Record> {
        self.records_at_key(&normalized(name))
    }

    /// The records owned by the normalized `key` (any type).
    fn records_at_key<'s>(&'s self, key: &str) -> impl Iterator<Item = &'s Record> + use<'s> {
        let idx = self
            .names
            .get(key)
            .map(|e| e.records.as_slice())
            .unwrap_or(&[]);
        idx.iter().filter_map(|&i| self.records.get(i))
    }

    /// True if `name` exists in the data: it owns records, or records exist below it (an
    /// empty non-terminal, RFC 8020 §2), or a wildcard matches it (RFC 4592).
    pub fn name_exists(&self, name: &str) -> bool {
        self.owner_for(&normalized(name)).is_some()
    }

    /// The entry whose records answer for the normalized `name` (RFC 4592 §3.3.1): the name
    /// itself when it exists (also as an empty non-terminal: "a wildcard does not match an
    /// existing name", §2.2.2); else the wildcard `*.<closest encloser>` when the data has it,
    /// the closest encloser being the longest existing ancestor (so an existing name or empty
    /// non-terminal between the name and a wildcard blocks it, §2.2.2, §3.3.1); else `None`
    /// (the name does not exist). The source of synthesis may itself be an empty
    /// non-terminal: the name then exists without records (NODATA), §2.2.1.
    fn owner_for(&self, name: &str) -> Option<&NameEntry> {
        if let Some(entry) = self.names.get(name) {
            return Some(entry);
        }
        let mut n = name;
        loop {
            match split_first_label(n) {
                Some((_, parent)) => match self.names.get(parent) {
                    Some(encloser) if encloser.wildcard_below => {
                        return self.names.get(format!("*.{parent}").as_str());
                    }
                    Some(_) => return None,
                    None => n = parent,
                },
                // Nothing above exists in the data: the root is the closest encloser.
                None => return self.names.get("*"),
            }
        }
    }

    /// The grouped records of an entry, built on first use.
    fn sets<'s>(&'s self, entry: &'s NameEntry) -> &'s Sets {
        entry.sets.get_or_init(|| {
            let mut lists: [Vec<RData>; RType::COUNT] = Default::default();
            let mut ttls = [u32::MAX; RType::COUNT];
            let mut cname = None;
            for r in entry.records.iter().filter_map(|&i| self.records.get(i)) {
                let slot = r.data.rtype().map_or(RType::COUNT, RType::index);
                if let (Some(list), Some(ttl)) = (lists.get_mut(slot), ttls.get_mut(slot)) {
                    list.push(r.data.clone());
                    *ttl = (*ttl).min(r.ttl);
                }
                if let RData::Cname(target) = &r.data {
                    cname.get_or_insert_with(|| (normalize_name(target), r.ttl));
                }
            }
            let mut sets = Sets {
                cname,
                ..Sets::default()
            };
            for ((set, list), ttl) in sets.by_type.iter_mut().zip(lists).zip(ttls) {
                if !list.is_empty() {
                    *set = Some((list.into(), ttl));
                }
            }
            sets
        })
    }

    /// Answers from the data alone, following CNAMEs inside it; see [`ZoneLookup`].
    pub fn resolve(&self, name: &str, rtype: RType) -> ZoneLookup {
        self.resolve_chain(name, rtype).0
    }

    /// [`ZoneData::resolve`] with the CNAME chain followed in the data (the queried name
    /// first, the last target last; empty when no CNAME was followed).
    pub fn resolve_chain(&self, name: &str, rtype: RType) -> (ZoneLookup, Vec<String>) {
        let (walk, chain) = self.walk(name, rtype);
        let lookup = match walk {
            Walk::Answered(a) => ZoneLookup::Answered(a),
            Walk::Delegate { name, ttl, .. } => ZoneLookup::Delegate {
                name: name.into_owned(),
                ttl,
            },
        };
        (lookup, chain)
    }

    /// [`ZoneData::resolve_chain`] without copies: records are shared, names borrowed.
    fn walk<'a>(&'a self, name: &'a str, rtype: RType) -> (Walk<'a>, Vec<String>) {
        let chain = |seen: &[String], current: &str| -> Vec<String> {
            if seen.is_empty() {
                Vec::new()
            } else {
                seen.iter().cloned().chain([current.to_string()]).collect()
            }
        };
        let mut current: Cow<'a, str> = normalized(name);
        let mut chain_ttl: Option<u32> = None;
        let mut seen: Vec<String> = Vec::new();
        loop {
            // RFC 4592: a name that does not exist takes the records of a matching wildcard.
            let owner = self.owner_for(&current);
            let sets = owner.map(|e| self.sets(e));
            let found = sets
                .and_then(|s| s.by_type.get(rtype.index()))
                .and_then(Option::as_ref);
            if let Some((data, ttl)) = found {
                let ttl = chain_ttl.map_or(*ttl, |c| c.min(*ttl));
                let followed = chain(&seen, &current);
                let answer = Answer::Records {
                    data: data.clone(),
                    ttl,
                };
                return (Walk::Answered(answer), followed);
            }
            // RFC 1034 §3.6.2: a CNAME at the name stands for all its other types.
            let Some((target, cttl)) = sets.and_then(|s| s.cname.as_ref()) else {
                let followed = chain(&seen, &current);
                let walk = Walk::Delegate {
                    name: current,
                    ttl: chain_ttl,
                    exists: owner.is_some(),
                };
                return (walk, followed);
            };
            seen.push(current.into_owned());
            if seen.iter().any(|s| s == target) {
                let error = Answer::Error(format!(
                    "CNAME loop at {target} (chain: {} -> {target})",
                    seen.join(" -> ")
                ));
                return (Walk::Answered(error), Vec::new());
            }
            if seen.len() > MAX_CNAME_HOPS {
                let error = Answer::Error(format!(
                    "CNAME chain longer than {MAX_CNAME_HOPS} at {target}"
                ));
                return (Walk::Answered(error), Vec::new());
            }
            chain_ttl = Some(chain_ttl.map_or(*cttl, |c| c.min(*cttl)));
            current = Cow::Borrowed(target.as_str());
        }
    }

    /// The zone's answer when it has data for this (name, type): records of the type at the
    /// name or at the end of a CNAME chain inside the data, or a CNAME-chain error. `None`
    /// when the answer would have to come from elsewhere.
    pub fn lookup(&self, name: &str, rtype: RType) -> Option<Answer> {
        match self.walk(name, rtype).0 {
            Walk::Answered(a) => Some(a),
            Walk::Delegate { .. } => None,
        }
    }

    /// The answer when the zone data is all there is (offline): as [`ZoneData::lookup`], else
    /// NODATA if the (final) name exists — with other types, or as an empty non-terminal
    /// (RFC 8020) — and NXDOMAIN otherwise (also for a CNAME target absent from the data).
    pub fn lookup_offline(&self, name: &str, rtype: RType) -> Answer {
        self.lookup_offline_chain(name, rtype).0
    }

    /// [`ZoneData::lookup_offline`] with the CNAME chain followed (see
    /// [`ZoneData::resolve_chain`]).
    pub fn lookup_offline_chain(&self, name: &str, rtype: RType) -> (Answer, Vec<String>) {
        let (walk, chain) = self.walk(name, rtype);
        let answer = match walk {
            Walk::Answered(a) => a,
            Walk::Delegate { exists: true, .. } => Answer::NoData,
            Walk::Delegate { exists: false, .. } => Answer::NxDomain,
        };
        (answer, chain)
    }
}

impl FromIterator<Record> for ZoneData {
    fn from_iter<I: IntoIterator<Item = Record>>(iter: I) -> Self {
        let mut z = ZoneData::new();
        z.extend(iter);
        z
    }
}

impl<'a> IntoIterator for &'a ZoneData {
    type Item = &'a Record;
    type IntoIter = std::slice::Iter<'a, Record>;
    fn into_iter(self) -> Self::IntoIter {
        self.records.iter()
    }
}

/// Splits `a.b.c` into (`a`, `b.c`), honouring `\.` escapes; `None` for a single label or
/// the root.
fn split_first_label(name: &str) -> Option<(&str, &str)> {
    let mut escaped = false;
    for (i, c) in name.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            // `i` is the index of an ASCII '.', so both slices are on char boundaries.
            '.' => return Some((name.get(..i)?, name.get(i + 1..)?)),
            _ => {}
        }
    }
    None
}

/// TXT records that replace, at one name, the TXT records a predicate selects (the SPF
/// record for `--record`, the DMARC record for `--dmarc-record`) in every layer below: the
/// zone data and live DNS. TXT records the predicate does not select stay.
#[derive(Clone)]
pub struct TxtReplacement {
    /// Normalized owner name.
    name: String,
    /// Selects the TXT records (joined text, RFC 7208 §3.3) being replaced. A plain function,
    /// so that this layer needs nothing from the record parsers above it.
    replaces: fn(&str) -> bool,
    /// The replacement: one TXT record.
    data: RData,
}

impl TxtReplacement {
    /// `text` replaces the TXT records at `name` that `replaces` selects. It is stored as one
    /// TXT record split into character-strings of at most 255 octets (RFC 1035 §3.3.14).
    pub fn new(name: &str, replaces: fn(&str) -> bool, text: &str) -> Self {
        let strings = text.as_bytes().chunks(255).map(<[u8]>::to_vec).collect();
        TxtReplacement {
            name: normalize_name(name),
            replaces,
            data: RData::Txt(strings),
        }
    }

    /// The answer with the replaced records removed and the replacement added. NXDOMAIN and
    /// NODATA below become the replacement alone; a failure below stays a failure (a DNS
    /// failure is never "no record", whatever is replaced).
    fn apply(&self, below: Answer) -> Answer {
        match below {
            // TTL 0: a dry-run answer is nothing to cache.
            Answer::Records { data, .. } => {
                let mut kept: Vec<RData> = data
                    .iter()
                    .filter(|d| !d.txt_joined().is_some_and(|t| (self.replaces)(&t)))
                    .cloned()
                    .collect();
                kept.push(self.data.clone());
                Answer::Records {
                    data: kept.into(),
                    ttl: 0,
                }
            }
            Answer::NxDomain | Answer::NoData => Answer::Records {
                data: Arc::from([self.data.clone()]),
                ttl: 0,
            },
            failure => failure,
        }
    }
}

impl std::fmt::Debug for TxtReplacement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxtReplacement")
            .field("name", &self.name)
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

/// Answers from zone data; names/types the data lacks go to `upstream`, or get
/// NXDOMAIN/NODATA when there is none (offline). [`TxtReplacement`]s apply on top of both.
pub struct Overlay {
    zone: ZoneData,
    upstream: Option<Arc<dyn Resolver>>,
    replacements: Vec<TxtReplacement>,
}

impl Overlay {
    pub fn new(zone: ZoneData, upstream: Option<Arc<dyn Resolver>>) -> Self {
        Overlay {
            zone,
            upstream,
            replacements: Vec::new(),
        }
    }

    /// Adds a replacement (see [`TxtReplacement`]); several may apply at one name.
    pub fn replace_txt(&mut self, replacement: TxtReplacement) {
        self.replacements.push(replacement);
    }

    /// The response from the zone data and upstream, without replacements: zone answers carry
    /// no more than the answer; live ones keep their detail (cause of a failure, negative TTL,
    /// cache marker).
    async fn below(&self, name: &str, rtype: RType) -> Response {
        let Some(upstream) = &self.upstream else {
            let (answer, chain) = self.zone.lookup_offline_chain(name, rtype);
            let mut response = Response::new(answer);
            response.cname_chain = chain;
            return response;
        };
        let (lookup, chain) = self.zone.resolve_chain(name, rtype);
        match lookup {
            ZoneLookup::Answered(a) => {
                let mut response = Response::new(a);
                response.cname_chain = chain;
                response
            }
            // Not in the data: live DNS answers, for the original name...
            ZoneLookup::Delegate { ttl: None, .. } => upstream.query_detailed(name, rtype).await,
            // ... or for the end of a CNAME chain the data started.
            ZoneLookup::Delegate {
                name: target,
                ttl: Some(chain_ttl),
            } => {
                let mut response = upstream.query_detailed(&target, rtype).await;
                if let Answer::Records { ttl, .. } = &mut response.answer {
                    *ttl = (*ttl).min(chain_ttl);
                }
                // The data's chain ends at `target`, where the live chain (if any) starts.
                let live = std::mem::take(&mut response.cname_chain);
                response.cname_chain = chain.into_iter().chain(live.into_iter().skip(1)).collect();
                response
            }
        }
    }

    /// True if a replacement record is owned by `name` or below it: the name exists
    /// (RFC 8020), whatever the layers below say.
    fn replacement_at_or_below(&self, name: &str) -> bool {
        self.replacements.iter().any(|r| {
            let mut n = r.name.as_str();
            loop {
                if n == name {
                    return true;
                }
                match split_first_label(n) {
                    Some((_, parent)) => n = parent,
                    None => return name.is_empty(),
                }
            }
        })
    }

    /// The zone data this overlay answers from.
    pub fn zone(&self) -> &ZoneData {
        &self.zone
    }

    /// True when there is no upstream: every answer comes from the zone data.
    pub fn is_offline(&self) -> bool {
        self.upstream.is_none()
    }
}

#[async_trait::async_trait]
impl Resolver for Overlay {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        self.query_detailed(name, rtype).await.answer
    }

    async fn query_detailed(&self, name: &str, rtype: RType) -> Response {
        if self.replacements.is_empty() {
            return self.below(name, rtype).await;
        }
        let key = normalized(name);
        let below = self.below(name, rtype).await;
        let mut answer = below.answer.clone();
        if rtype == RType::Txt {
            for r in self.replacements.iter().filter(|r| r.name == key) {
                answer = r.apply(answer);
            }
        }
        // The replaced name exists, and so do its ancestors (RFC 8020 §2).
        if answer == Answer::NxDomain && self.replacement_at_or_below(&key) {
            answer = Answer::NoData;
        }
        if answer == below.answer {
            below
        } else {
            let mut response = Response::new(answer);
            response.cname_chain = below.cname_chain;
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn a(s: &str) -> RData {
        RData::A(s.parse().unwrap())
    }

    fn txt(s: &str) -> RData {
        RData::Txt(vec![s.as_bytes().to_vec()])
    }

    fn sample() -> ZoneData {
        ZoneData::from_zone_text(
            "$TTL 300\n\
             $ORIGIN example.com.\n\
             @ 600 A 192.0.2.1\n\
             @ 100 A 192.0.2.2\n\
             @ TXT \"v=spf1 -all\"\n\
             www CNAME @\n\
             alias 50 CNAME www\n\
             out CNAME elsewhere.test.\n\
             inzone CNAME nodata\n\
             nodata MX 10 mail\n\
             loop1 CNAME loop2\n\
             loop2 CNAME loop1\n\
             self CNAME self\n\
             x.y.deep TXT \"deep\"\n\
             c0 CNAME c1\nc1 CNAME c2\nc2 CNAME c3\nc3 CNAME c4\nc4 CNAME c5\n\
             c5 CNAME c6\nc6 CNAME c7\nc7 CNAME c8\nc8 CNAME c9\nc9 A 192.0.2.9\n",
            None,
        )
        .unwrap()
    }

    /// Upstream that records what it was asked and answers with one fixed TXT.
    #[derive(Default)]
    struct Live(Mutex<Vec<(String, RType)>>);

    #[async_trait::async_trait]
    impl Resolver for Live {
        async fn query(&self, name: &str, rtype: RType) -> Answer {
            self.0.lock().unwrap().push((name.to_string(), rtype));
            Answer::Records {
                data: vec![txt("live")].into(),
                ttl: 1000,
            }
        }
    }

    #[test]
    fn records_with_min_ttl_case_insensitive() {
        let z = sample();
        assert_eq!(z.len(), 22);
        assert!(!z.is_empty());
        assert_eq!(z.iter().count(), 22);
        assert_eq!(
            z.lookup("EXAMPLE.com.", RType::A),
            Some(Answer::Records {
                data: vec![a("192.0.2.1"), a("192.0.2.2")].into(),
                ttl: 100
            })
        );
    }

    #[test]
    fn cname_following() {
        let z = sample();
        // alias -> www -> example.com; TTL is the minimum over the chain.
        assert_eq!(
            z.lookup("alias.example.com", RType::Txt),
            Some(Answer::Records {
                data: vec![txt("v=spf1 -all")].into(),
                ttl: 50
            })
        );
        // Asking for the CNAME itself does not follow it.
        assert_eq!(
            z.lookup("www.example.com", RType::Cname),
            Some(Answer::Records {
                data: vec![RData::Cname("example.com".into())].into(),
                ttl: 300
            })
        );
        // 9 hops (c0 -> c9) is one too many; c1 -> c9 is 8 and fine.
        assert!(matches!(
            z.lookup("c0.example.com", RType::A),
            Some(Answer::Error(e)) if e.contains("longer than 8")
        ));
        assert_eq!(
            z.lookup("c1.example.com", RType::A),
            Some(Answer::Records {
                data: vec![a("192.0.2.9")].into(),
                ttl: 300
            })
        );
    }

    #[test]
    fn cname_loops() {
        let z = sample();
        match z.lookup_offline("loop1.example.com", RType::A) {
            Answer::Error(e) => assert!(e.starts_with("CNAME loop at loop1.example.com"), "{e}"),
            other => panic!("{other:?}"),
        }
        match z.lookup_offline("self.example.com", RType::Txt) {
            Answer::Error(e) => assert!(e.contains("CNAME loop at self.example.com"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn offline_negative_answers() {
        let z = sample();
        assert_eq!(z.lookup_offline("example.com", RType::Mx), Answer::NoData);
        assert_eq!(
            z.lookup_offline("nope.example.com", RType::A),
            Answer::NxDomain
        );
        // RFC 8020: empty non-terminals exist.
        assert_eq!(
            z.lookup_offline("y.deep.example.com", RType::A),
            Answer::NoData
        );
        assert_eq!(
            z.lookup_offline("deep.example.com", RType::Txt),
            Answer::NoData
        );
        assert_eq!(z.lookup_offline("com", RType::Txt), Answer::NoData);
        assert_eq!(
            z.lookup_offline("z.x.y.deep.example.com", RType::Txt),
            Answer::NxDomain
        );
        // CNAME target outside the data: NXDOMAIN offline; inside without the type: NODATA.
        assert_eq!(
            z.lookup_offline("out.example.com", RType::A),
            Answer::NxDomain
        );
        assert_eq!(
            z.lookup_offline("inzone.example.com", RType::A),
            Answer::NoData
        );
        assert_eq!(z.lookup("nope.example.com", RType::A), None);
        assert_eq!(
            z.resolve("out.example.com", RType::A),
            ZoneLookup::Delegate {
                name: "elsewhere.test".into(),
                ttl: Some(300)
            }
        );
    }

    #[tokio::test]
    async fn overlay_offline() {
        let o = Overlay::new(sample(), None);
        assert!(o.is_offline());
        assert_eq!(
            o.query("nope.example.com", RType::A).await,
            Answer::NxDomain
        );
        assert_eq!(o.query("example.com", RType::Mx).await, Answer::NoData);
        assert_eq!(
            o.query("www.example.com.", RType::Txt).await,
            Answer::Records {
                data: vec![txt("v=spf1 -all")].into(),
                ttl: 300
            }
        );
    }

    #[tokio::test]
    async fn overlay_over_upstream() {
        let live = Arc::new(Live::default());
        let o = Overlay::new(sample(), Some(live.clone()));
        // In the data: upstream not asked.
        assert_eq!(
            o.query("example.com", RType::Txt).await,
            Answer::Records {
                data: vec![txt("v=spf1 -all")].into(),
                ttl: 300
            }
        );
        assert!(matches!(
            o.query("loop1.example.com", RType::A).await,
            Answer::Error(_)
        ));
        assert!(live.0.lock().unwrap().is_empty());
        // Name known but not this type, unknown name: upstream.
        let r = o.query("Example.COM", RType::Mx).await;
        assert_eq!(r.records(), &[txt("live")]);
        o.query("nope.example.com", RType::A).await;
        // CNAME leaving the data: upstream asked for the target; TTL is the chain minimum.
        assert_eq!(
            o.query("out.example.com", RType::Txt).await,
            Answer::Records {
                data: vec![txt("live")].into(),
                ttl: 300
            }
        );
        assert_eq!(
            *live.0.lock().unwrap(),
            vec![
                ("Example.COM".to_string(), RType::Mx),
                ("nope.example.com".to_string(), RType::A),
                ("elsewhere.test".to_string(), RType::Txt),
            ]
        );
    }

    #[tokio::test]
    async fn seed_zone_offline() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/seed/seed.zone"
        ))
        .unwrap();
        let o = Overlay::new(ZoneData::from_zone_text(&text, None).unwrap(), None);
        let spf = o.query("thespykiller.co.uk", RType::Txt).await;
        assert_eq!(
            spf.records()[0].txt_joined().unwrap(),
            "v=spf1 mx a ip4:192.0.2.0/27 include:_spf.mailhost.example -all"
        );
        let ptr = o.query("61.190.142.81.in-addr.arpa", RType::Ptr).await;
        assert_eq!(ptr.records(), &[RData::Ptr("dain.r-pl.co.uk".into())]);
        // The DKIM key's parent is an empty non-terminal (RFC 8020): NODATA, not NXDOMAIN.
        assert_eq!(
            o.query("_domainkey.thespykiller.co.uk", RType::Txt).await,
            Answer::NoData
        );
        assert_eq!(
            o.query("_dmarc.r-pl.co.uk", RType::Txt).await,
            Answer::NxDomain
        );
        // Only SOA/NS/MX/A/TXT at the apex: no AAAA.
        assert_eq!(
            o.query("thespykiller.co.uk", RType::Aaaa).await,
            Answer::NoData
        );
    }

    #[test]
    fn add_normalizes_and_escaped_dots() {
        let mut z = ZoneData::new();
        z.add("Host.Example.", 5, a("192.0.2.7"));
        z.add("a\\.b.example", 5, txt("esc"));
        assert!(z.lookup("host.example", RType::A).is_some());
        assert_eq!(z.records_at("HOST.example.").count(), 1);
        assert!(z.name_exists("example"));
        // "a\.b" is one label: "b.example" is not an ancestor.
        assert!(!z.name_exists("b.example"));
        assert_eq!(split_first_label("a\\.b.c"), Some(("a\\.b", "c")));
        assert_eq!(split_first_label("root"), None);
    }
    #[test]
    fn answers_follow_records_added_after_a_lookup() {
        let mut z = ZoneData::new();
        z.add("host.example", 60, a("192.0.2.1"));
        assert_eq!(z.lookup_offline("x.example", RType::Txt), Answer::NxDomain);
        assert_eq!(
            z.lookup_offline("host.example", RType::A).records().len(),
            1
        );
        // The grouped answers built by the lookups are rebuilt with the new records.
        z.add("HOST.example.", 30, a("192.0.2.2"));
        z.add("*.example", 60, txt("wild"));
        assert_eq!(
            z.lookup_offline("host.example", RType::A),
            Answer::Records {
                data: vec![a("192.0.2.1"), a("192.0.2.2")].into(),
                ttl: 30
            }
        );
        assert_eq!(
            z.lookup_offline("x.example", RType::Txt).records(),
            &[txt("wild")]
        );
        // A shared answer: two lookups hand out the same records, not copies.
        let (Answer::Records { data: d1, .. }, Answer::Records { data: d2, .. }) = (
            z.lookup_offline("host.example", RType::A),
            z.lookup_offline("Host.Example", RType::A),
        ) else {
            panic!("records expected");
        };
        assert!(Arc::ptr_eq(&d1, &d2));
    }

    fn wildcard_zone() -> ZoneData {
        ZoneData::from_zone_text(
            "$TTL 60\n\
             $ORIGIN example.\n\
             @ TXT \"apex\"\n\
             * TXT \"v=spf1 -all\"\n\
             * MX 10 mail\n\
             host A 192.0.2.1\n\
             a.blocked TXT \"deep\"\n\
             *.sub TXT \"sub wildcard\"\n\
             x.*.ent TXT \"below a wildcard label\"\n\
             *.alias CNAME target\n\
             target A 192.0.2.9\n\
             *.loop CNAME again.loop\n",
            None,
        )
        .unwrap()
    }

    #[test]
    fn wildcards_rfc4592() {
        let z = wildcard_zone();
        let spf = Answer::Records {
            data: vec![txt("v=spf1 -all")].into(),
            ttl: 60,
        };
        // A name that does not exist takes the wildcard's records, at any depth (§2.1.1).
        assert_eq!(z.lookup_offline("nothere.example", RType::Txt), spf);
        assert_eq!(z.lookup_offline("a.b.c.example", RType::Txt), spf);
        // ... and exists without other types: NODATA, never NXDOMAIN.
        assert_eq!(
            z.lookup_offline("nothere.example", RType::A),
            Answer::NoData
        );
        assert!(z.name_exists("nothere.example"));
        // A wildcard does not match an existing name (§2.2.2): host has only A.
        assert_eq!(z.lookup_offline("host.example", RType::Txt), Answer::NoData);
        assert_eq!(z.lookup_offline("host.example", RType::Mx), Answer::NoData);
        // Nor an empty non-terminal (blocked exists because a.blocked does)...
        assert_eq!(
            z.lookup_offline("blocked.example", RType::Txt),
            Answer::NoData
        );
        // ... and names below an existing name have it as closest encloser: *.blocked does not
        // exist, so no wildcard applies (§3.3.1).
        assert_eq!(
            z.lookup_offline("x.blocked.example", RType::Txt),
            Answer::NxDomain
        );
        assert_eq!(
            z.lookup_offline("x.host.example", RType::Txt),
            Answer::NxDomain
        );
        // A deeper wildcard applies below its own closest encloser.
        assert_eq!(
            z.lookup_offline("q.sub.example", RType::Txt).records(),
            &[txt("sub wildcard")]
        );
        // The wildcard name itself is an ordinary owner.
        assert_eq!(z.lookup_offline("*.example", RType::Txt), spf);
        // A wildcard that is an empty non-terminal (*.ent has only x.*.ent below it) matches
        // with no records: NODATA (§2.2.1).
        assert_eq!(
            z.lookup_offline("y.ent.example", RType::Txt),
            Answer::NoData
        );
        // A wildcard CNAME is followed; a wildcard CNAME into its own wildcard is a loop.
        assert_eq!(
            z.lookup_offline("w.alias.example", RType::A).records(),
            &[a("192.0.2.9")]
        );
        assert!(matches!(
            z.lookup_offline("w.loop.example", RType::A),
            Answer::Error(e) if e.contains("CNAME loop")
        ));
        // Names outside the data are untouched.
        assert_eq!(z.lookup_offline("other.test", RType::Txt), Answer::NxDomain);
        // A root wildcard matches everything that does not exist.
        let root = ZoneData::from_zone_text(
            "$ORIGIN .\n* 5 TXT \"any\"\nhost.test. 5 A 192.0.2.1\n",
            None,
        )
        .unwrap();
        assert_eq!(
            root.lookup_offline("x.y", RType::Txt).records(),
            &[txt("any")]
        );
        assert_eq!(root.lookup_offline("x.test", RType::Txt), Answer::NxDomain);
    }

    fn spf_pred(t: &str) -> bool {
        t.starts_with("v=spf1")
    }

    #[tokio::test]
    async fn replacement_replaces_in_every_layer() {
        let zone = ZoneData::from_zone_text(
            "$TTL 60\n$ORIGIN example.\n\
             @ TXT \"v=spf1 -all\"\n@ TXT \"verify=1\"\n\
             only-other TXT \"verify=2\"\n",
            None,
        )
        .unwrap();
        let new = || TxtReplacement::new("Example.", spf_pred, "v=spf1 +all");
        // Offline, zone data: the SPF record is replaced, the other TXT stays.
        let mut o = Overlay::new(zone.clone(), None);
        o.replace_txt(new());
        assert_eq!(
            o.query("example", RType::Txt).await.records(),
            &[txt("verify=1"), txt("v=spf1 +all")]
        );
        // Other types and names are not touched.
        assert_eq!(o.query("example", RType::A).await, Answer::NoData);
        assert_eq!(o.query("x.example", RType::Txt).await, Answer::NxDomain);
        // A replaced name absent from the data exists, as do its ancestors (RFC 8020).
        let mut o = Overlay::new(zone.clone(), None);
        o.replace_txt(TxtReplacement::new("new.example", spf_pred, "v=spf1 +all"));
        o.replace_txt(TxtReplacement::new(
            "only-other.example",
            spf_pred,
            "v=spf1 ~all",
        ));
        assert_eq!(
            o.query("new.example", RType::Txt).await.records(),
            &[txt("v=spf1 +all")]
        );
        assert_eq!(o.query("new.example", RType::A).await, Answer::NoData);
        assert_eq!(
            o.query("only-other.example", RType::Txt).await.records(),
            &[txt("verify=2"), txt("v=spf1 ~all")]
        );
        // Over live DNS: the live SPF record is replaced, other live TXT kept.
        struct Published;
        #[async_trait::async_trait]
        impl Resolver for Published {
            async fn query(&self, name: &str, _: RType) -> Answer {
                match name {
                    "live.example" => Answer::Records {
                        data: vec![txt("v=spf1 -all"), txt("v=spf1 ?all"), txt("keep")].into(),
                        ttl: 500,
                    },
                    "broken.example" => Answer::ServFail,
                    _ => Answer::NxDomain,
                }
            }
        }
        let mut o = Overlay::new(ZoneData::new(), Some(Arc::new(Published)));
        o.replace_txt(TxtReplacement::new("live.example", spf_pred, "v=spf1 +all"));
        o.replace_txt(TxtReplacement::new(
            "broken.example",
            spf_pred,
            "v=spf1 +all",
        ));
        o.replace_txt(TxtReplacement::new("gone.example", spf_pred, "v=spf1 +all"));
        assert_eq!(
            o.query("live.example", RType::Txt).await,
            Answer::Records {
                data: vec![txt("keep"), txt("v=spf1 +all")].into(),
                ttl: 0
            }
        );
        // A DNS failure below stays a failure; NXDOMAIN below becomes the record alone.
        assert_eq!(
            o.query("broken.example", RType::Txt).await,
            Answer::ServFail
        );
        assert_eq!(
            o.query("gone.example", RType::Txt).await.records(),
            &[txt("v=spf1 +all")]
        );
        assert_eq!(o.query("gone.example", RType::A).await, Answer::NoData);
        // Long records are split into 255-octet strings.
        let long = format!("v=spf1 {}", "a".repeat(600));
        match TxtReplacement::new("x", spf_pred, &long).data {
            RData::Txt(parts) => {
                assert_eq!(
                    parts.iter().map(Vec::len).collect::<Vec<_>>(),
                    [255, 255, 97]
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
