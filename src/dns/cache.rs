//! A shared, TTL-honouring answer cache.
//!
//! It exists because one evaluation repeats queries (SPF `include:`s shared between domains,
//! `a`/`mx` mechanisms naming the same hosts, DMARC and SPF asking for the same names) and a
//! batch run repeats them across messages: answering those from memory is faster and kinder to
//! the servers. Only answers are cached — positive ones for their TTL, NXDOMAIN/NODATA for the
//! negative TTL of their SOA (RFC 2308 §5) — never failures, which must be retried.
//! Concurrent misses for one (name, type) are coalesced: one query goes out, every caller gets
//! its answer. Eviction is O(log n): an expiry index and an insertion-order index.
//!
//! A hit is the common case of a batch run: it takes a shared (read) lock, looks the name up
//! without allocating (names already in key form are borrowed, one table per type) and clones
//! the answer's shared records (`Arc`), never the records themselves.
//!
//! Time comes from `std::time::Instant` here, which is fine: the cache is below the recorder,
//! so nothing time-dependent reaches evaluation traces except the (remaining) TTLs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use super::{Answer, RType, Resolver, Response, normalized};

/// TTL for NXDOMAIN/NODATA when the answer carried no SOA (RFC 2308 §5 takes it from the SOA
/// of the authority section; without one, 5 minutes is a common value).
pub const DEFAULT_NEGATIVE_TTL: u32 = 300;
/// Longest an answer is kept, whatever its TTL (one day, as common resolvers cap it).
pub const DEFAULT_MAX_TTL: u32 = 86_400;
/// Default bound on the number of cached answers.
pub const DEFAULT_CAPACITY: usize = 10_000;

type Key = (String, RType);

/// Answers by normalized name, for one type. foldhash, seeded per process: the names come
/// from DNS (hostile), and it is several times faster than SipHash on short names.
type NameMap<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;

struct Entry {
    response: Response,
    expires: Instant,
    /// Insertion sequence number: the key of this entry in `State::order`.
    seq: u64,
}

/// One query in flight: every concurrent miss for its key waits on the same cell.
type Flight = Arc<OnceCell<Response>>;

#[derive(Default)]
struct State {
    /// Per type ([`RType::index`]): the answers by name, so that a lookup borrows the name.
    entries: [NameMap<Entry>; RType::COUNT],
    /// Insertion order, oldest first, for eviction.
    order: BTreeMap<u64, Key>,
    /// Expiry order: (expires, seq), soonest first.
    expiry: BTreeSet<(Instant, u64)>,
    next_seq: u64,
    in_flight: HashMap<Key, Flight>,
}

impl State {
    fn table(&self, rtype: RType) -> Option<&NameMap<Entry>> {
        self.entries.get(rtype.index())
    }

    fn table_mut(&mut self, rtype: RType) -> Option<&mut NameMap<Entry>> {
        self.entries.get_mut(rtype.index())
    }

    /// The number of answers held.
    fn len(&self) -> usize {
        self.entries.iter().map(HashMap::len).sum()
    }

    fn remove(&mut self, key: &Key) {
        let removed = self.table_mut(key.1).and_then(|t| t.remove(key.0.as_str()));
        if let Some(e) = removed {
            self.order.remove(&e.seq);
            self.expiry.remove(&(e.expires, e.seq));
        }
    }

    /// Removes the entry with insertion number `seq`.
    fn remove_seq(&mut self, seq: u64) {
        if let Some(key) = self.order.get(&seq).cloned() {
            self.remove(&key);
        } else {
            self.order.remove(&seq);
        }
    }

    /// Makes room for one entry: an expired entry first, else the oldest; O(log n) each.
    fn make_room(&mut self, capacity: usize, now: Instant) {
        while self.len() >= capacity {
            let victim = match self.expiry.first() {
                Some(&(expires, seq)) if expires <= now => Some(seq),
                _ => self.order.first_key_value().map(|(&seq, _)| seq),
            };
            match victim {
                Some(seq) => self.remove_seq(seq),
                None => break,
            }
        }
    }

    fn insert(&mut self, key: Key, response: Response, expires: Instant) {
        self.remove(&key);
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        let entry = Entry {
            response,
            expires,
            seq,
        };
        if let Some(table) = self.entries.get_mut(key.1.index()) {
            table.insert(key.0.as_str().into(), entry);
            self.expiry.insert((expires, seq));
            self.order.insert(seq, key);
        }
    }
}

/// Counters of a [`Cache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Queries answered from the cache (stored answers and coalesced concurrent misses).
    pub hits: u64,
    /// Queries passed to the inner resolver.
    pub misses: u64,
    /// Answers currently held (expired ones included until they are evicted or looked up).
    pub entries: usize,
}

type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

pub struct Cache {
    inner: Arc<dyn Resolver>,
    state: RwLock<State>,
    negative_ttl: u32,
    max_ttl: u32,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    clock: Clock,
}

impl Cache {
    pub fn new(inner: Arc<dyn Resolver>) -> Self {
        Cache {
            inner,
            state: RwLock::new(State::default()),
            negative_ttl: DEFAULT_NEGATIVE_TTL,
            max_ttl: DEFAULT_MAX_TTL,
            capacity: DEFAULT_CAPACITY,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            clock: Arc::new(Instant::now),
        }
    }

    /// How long NXDOMAIN and NODATA answers without an SOA are kept, in seconds (0: not
    /// cached). Answers with an SOA use its negative TTL (RFC 2308 §5).
    pub fn with_negative_ttl(mut self, seconds: u32) -> Self {
        self.negative_ttl = seconds;
        self
    }

    /// The longest an answer is kept, in seconds (TTLs above are capped).
    pub fn with_max_ttl(mut self, seconds: u32) -> Self {
        self.max_ttl = seconds;
        self
    }

    /// The most answers held at once (at least 1).
    pub fn with_capacity(mut self, entries: usize) -> Self {
        self.capacity = entries.max(1);
        self
    }

    /// Replaces the clock (tests move time without sleeping).
    #[cfg(test)]
    fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits(),
            misses: self.misses(),
            entries: self.read().len(),
        }
    }

    /// Forgets every cached answer (the counters are kept; queries in flight still finish).
    pub fn clear(&self) {
        let mut st = self.write();
        st.entries.iter_mut().for_each(HashMap::clear);
        st.order.clear();
        st.expiry.clear();
    }

    /// The state to change, even if another thread panicked while holding the lock: every
    /// update leaves it consistent enough (at worst an index entry without its answer, skipped
    /// on eviction).
    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The state to read (hits), shared between threads; see [`Cache::write`].
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh cached answer for the normalized `name`, with its TTL lowered to the time it
    /// has left; `None` when there is none or it has expired (a miss removes it).
    fn get(st: &State, name: &str, rtype: RType, now: Instant) -> Option<Response> {
        let entry = st.table(rtype)?.get(name)?;
        if entry.expires <= now {
            return None;
        }
        let left = entry.expires.saturating_duration_since(now);
        // Round up so a still-valid answer never claims TTL 0.
        let left =
            u32::try_from(left.as_secs() + u64::from(left.subsec_nanos() > 0)).unwrap_or(u32::MAX);
        let mut response = entry.response.clone();
        match &mut response.answer {
            Answer::Records { ttl, .. } => *ttl = (*ttl).min(left),
            _ => response.negative_ttl = response.negative_ttl.map(|t| t.min(left)),
        }
        response.cached = true;
        Some(response)
    }

    /// How long to keep an answer, or `None` for "do not cache".
    fn lifetime(&self, response: &Response) -> Option<u32> {
        let secs = match &response.answer {
            Answer::Records { ttl, .. } => (*ttl).min(self.max_ttl),
            // RFC 2308 §5: negative answers are cached for the SOA's negative TTL.
            Answer::NxDomain | Answer::NoData => response
                .negative_ttl
                .unwrap_or(self.negative_ttl)
                .min(self.max_ttl),
            // RFC 2308 §7: server failures may be cached for at most 5 minutes; we do not
            // cache them at all so that each evaluation sees a fresh attempt.
            Answer::ServFail | Answer::Refused(_) | Answer::Timeout | Answer::Error(_) => 0,
        };
        (secs > 0).then_some(secs)
    }

    /// Asks the inner resolver (once for all concurrent callers of `flight`) and stores the
    /// answer, ending the flight in the same step so no caller falls between the two.
    /// Returns the response and whether this caller sent the query.
    async fn fly(&self, key: &Key, flight: &Flight, name: &str, rtype: RType) -> (Response, bool) {
        let sent = std::sync::atomic::AtomicBool::new(false);
        let response = flight
            .get_or_init(|| async {
                sent.store(true, Ordering::Relaxed);
                self.misses.fetch_add(1, Ordering::Relaxed);
                let response = self.inner.query_detailed(name, rtype).await;
                let now = (self.clock)();
                let expires = self
                    .lifetime(&response)
                    .and_then(|secs| now.checked_add(Duration::from_secs(u64::from(secs))));
                let mut st = self.write();
                if let Some(expires) = expires {
                    st.make_room(self.capacity, now);
                    st.insert(key.clone(), response.clone(), expires);
                }
                if st
                    .in_flight
                    .get(key)
                    .is_some_and(|f| Arc::ptr_eq(f, flight))
                {
                    st.in_flight.remove(key);
                }
                response
            })
            .await
            .clone();
        (response, sent.load(Ordering::Relaxed))
    }
}

#[async_trait::async_trait]
impl Resolver for Cache {
    async fn query(&self, name: &str, rtype: RType) -> Answer {
        self.query_detailed(name, rtype).await.answer
    }

    async fn query_detailed(&self, name: &str, rtype: RType) -> Response {
        let key_name = normalized(name);
        let now = (self.clock)();
        // The common case: a fresh answer, under the shared lock.
        let hit = Cache::get(&self.read(), &key_name, rtype, now);
        if let Some(hit) = hit {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return hit;
        }
        let key = (key_name.into_owned(), rtype);
        let flight = {
            let mut st = self.write();
            // Stored by another caller since the shared look, or expired (then dropped).
            if let Some(hit) = Cache::get(&st, &key.0, rtype, now) {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return hit;
            }
            st.remove(&key);
            st.in_flight
                .entry(key.clone())
                .or_insert_with(|| Arc::new(OnceCell::new()))
                .clone()
        };
        // If the caller that started the flight is cancelled, a waiting one takes it over
        // (`OnceCell::get_or_init`), so no caller is left without an answer.
        let (mut response, sent) = self.fly(&key, &flight, name, rtype).await;
        if !sent {
            self.hits.fetch_add(1, Ordering::Relaxed);
            response.cached = true;
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::RData;
    use std::sync::Mutex;

    /// Answers from a table and counts queries per name.
    #[derive(Default)]
    struct Table {
        answers: HashMap<String, Answer>,
        asked: Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl Resolver for Table {
        async fn query(&self, name: &str, _rtype: RType) -> Answer {
            self.asked.lock().unwrap().push(name.to_string());
            self.answers.get(name).cloned().unwrap_or(Answer::NxDomain)
        }
    }

    impl Table {
        fn count(&self, name: &str) -> usize {
            self.asked
                .lock()
                .unwrap()
                .iter()
                .filter(|n| n.as_str() == name)
                .count()
        }
    }

    fn recs(ttl: u32) -> Answer {
        Answer::Records {
            data: vec![RData::A("192.0.2.1".parse().unwrap())].into(),
            ttl,
        }
    }

    struct Fixture {
        table: Arc<Table>,
        now: Arc<Mutex<Instant>>,
    }

    impl Fixture {
        fn new() -> Self {
            let mut answers = HashMap::new();
            answers.insert("pos".to_string(), recs(60));
            answers.insert("zero".to_string(), recs(0));
            answers.insert("long".to_string(), recs(1_000_000));
            answers.insert("nodata".to_string(), Answer::NoData);
            answers.insert("sf".to_string(), Answer::ServFail);
            answers.insert("to".to_string(), Answer::Timeout);
            answers.insert("err".to_string(), Answer::Error("x".into()));
            answers.insert("ref".to_string(), Answer::Refused("REFUSED".into()));
            Fixture {
                table: Arc::new(Table {
                    answers,
                    asked: Mutex::default(),
                }),
                now: Arc::new(Mutex::new(Instant::now())),
            }
        }

        fn cache(&self) -> Cache {
            let now = self.now.clone();
            Cache::new(self.table.clone()).with_clock(Arc::new(move || *now.lock().unwrap()))
        }

        fn advance(&self, secs: u64) {
            *self.now.lock().unwrap() += Duration::from_secs(secs);
        }
    }

    #[tokio::test]
    async fn positive_answers_kept_for_their_ttl() {
        let fx = Fixture::new();
        let c = fx.cache();
        assert_eq!(c.query("pos", RType::A).await, recs(60));
        fx.advance(20);
        // Served from the cache, with the TTL it has left; case and final dot do not matter.
        assert_eq!(c.query("POS.", RType::A).await, recs(40));
        assert_eq!(fx.table.count("pos"), 1);
        // Another type is another key.
        c.query("pos", RType::Txt).await;
        assert_eq!(fx.table.count("pos"), 2);
        fx.advance(40);
        assert_eq!(c.query("pos", RType::A).await, recs(60));
        assert_eq!(fx.table.count("pos"), 3);
        assert_eq!(
            c.stats(),
            CacheStats {
                hits: 1,
                misses: 3,
                entries: 2
            }
        );
        // TTL 0: never cached.
        c.query("zero", RType::A).await;
        c.query("zero", RType::A).await;
        assert_eq!(fx.table.count("zero"), 2);
    }

    #[tokio::test]
    async fn positive_ttl_capped() {
        let fx = Fixture::new();
        let c = fx.cache().with_max_ttl(100);
        c.query("long", RType::A).await;
        fx.advance(99);
        assert_eq!(c.query("long", RType::A).await, recs(1));
        fx.advance(1);
        c.query("long", RType::A).await;
        assert_eq!(fx.table.count("long"), 2);
    }

    #[tokio::test]
    async fn negative_answers_use_negative_ttl() {
        let fx = Fixture::new();
        let c = fx.cache().with_negative_ttl(30);
        assert_eq!(c.query("missing", RType::A).await, Answer::NxDomain);
        assert_eq!(c.query("nodata", RType::A).await, Answer::NoData);
        fx.advance(29);
        assert_eq!(c.query("missing", RType::A).await, Answer::NxDomain);
        assert_eq!(c.query("nodata", RType::A).await, Answer::NoData);
        assert_eq!(fx.table.count("missing"), 1);
        assert_eq!(fx.table.count("nodata"), 1);
        fx.advance(1);
        c.query("missing", RType::A).await;
        assert_eq!(fx.table.count("missing"), 2);
        // Negative TTL 0: not cached.
        let c0 = fx.cache().with_negative_ttl(0);
        c0.query("nodata", RType::A).await;
        c0.query("nodata", RType::A).await;
        assert_eq!(fx.table.count("nodata"), 3);
    }

    #[tokio::test]
    async fn failures_never_cached() {
        let fx = Fixture::new();
        let c = fx.cache();
        for name in ["sf", "to", "err", "ref"] {
            let first = c.query(name, RType::Txt).await;
            assert!(first.is_failure());
            assert_eq!(c.query(name, RType::Txt).await, first);
            assert_eq!(fx.table.count(name), 2, "{name}");
        }
        assert_eq!(c.hits(), 0);
        assert_eq!(c.misses(), 8);
        assert_eq!(c.stats().entries, 0);
    }

    #[tokio::test]
    async fn bounded_size_evicts_expired_then_oldest() {
        let mut answers = HashMap::new();
        for (n, ttl) in [
            ("a", 10),
            ("b", 1000),
            ("c", 1000),
            ("d", 1000),
            ("e", 1000),
        ] {
            answers.insert(n.to_string(), recs(ttl));
        }
        let fx = Fixture {
            table: Arc::new(Table {
                answers,
                asked: Mutex::default(),
            }),
            now: Arc::new(Mutex::new(Instant::now())),
        };
        let c = fx.cache().with_capacity(3);
        for n in ["a", "b", "c"] {
            c.query(n, RType::A).await;
        }
        fx.advance(10); // "a" expires
        c.query("d", RType::A).await; // evicts expired "a", keeps b, c
        c.query("b", RType::A).await;
        c.query("c", RType::A).await;
        assert_eq!(c.hits(), 2);
        c.query("e", RType::A).await; // full, nothing expired: evicts the oldest, "b"
        assert_eq!(c.stats().entries, 3);
        c.query("c", RType::A).await;
        c.query("d", RType::A).await;
        assert_eq!(c.hits(), 4);
        c.query("b", RType::A).await;
        assert_eq!(fx.table.count("b"), 2);
        assert_eq!(fx.table.count("c"), 1);
        c.clear();
        assert_eq!(c.stats().entries, 0);
    }

    #[tokio::test]
    async fn shared_between_tasks() {
        let fx = Fixture::new();
        let c = Arc::new(fx.cache());
        c.query("pos", RType::A).await;
        let mut handles = Vec::new();
        for _ in 0..8 {
            let c = c.clone();
            handles.push(tokio::spawn(async move { c.query("pos", RType::A).await }));
        }
        for h in handles {
            assert_eq!(h.await.unwrap(), recs(60));
        }
        assert_eq!(fx.table.count("pos"), 1);
        assert_eq!(c.hits(), 8);
    }

    /// Answers after a pause, counting the queries.
    struct Slow {
        asked: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl Resolver for Slow {
        async fn query(&self, _name: &str, _rtype: RType) -> Answer {
            self.asked.fetch_add(1, Ordering::Relaxed);
            // Long enough that the cancellation below lands while it is in flight.
            tokio::time::sleep(Duration::from_millis(300)).await;
            recs(60)
        }
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_query_even_if_the_first_caller_gives_up() {
        let slow = Arc::new(Slow {
            asked: std::sync::atomic::AtomicUsize::new(0),
        });
        let c = Arc::new(Cache::new(slow.clone()));
        // The first caller starts the query and is cancelled halfway.
        let first = {
            let c = c.clone();
            tokio::spawn(async move { c.query("pos", RType::A).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let waiters: Vec<_> = (0..10)
            .map(|_| {
                let c = c.clone();
                tokio::spawn(async move { c.query_detailed("pos", RType::A).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(10)).await;
        first.abort();
        let mut sent = 0;
        for w in waiters {
            let r = w.await.unwrap();
            assert_eq!(r.answer, recs(60));
            sent += usize::from(!r.cached);
        }
        // The cancelled query was sent, then one waiter took over: two queries at most, and
        // exactly one of the waiters sent its own.
        assert_eq!(sent, 1);
        assert_eq!(slow.asked.load(Ordering::Relaxed), 2);
        assert!(c.query_detailed("pos", RType::A).await.cached);
        assert_eq!(slow.asked.load(Ordering::Relaxed), 2);
        assert!(c.write().in_flight.is_empty());
    }

    #[tokio::test]
    async fn negative_ttl_of_the_soa_is_used_and_capped() {
        struct Soa;
        #[async_trait::async_trait]
        impl Resolver for Soa {
            async fn query(&self, _name: &str, _rtype: RType) -> Answer {
                Answer::NxDomain
            }
            async fn query_detailed(&self, _name: &str, _rtype: RType) -> Response {
                let mut r = Response::new(Answer::NxDomain);
                r.negative_ttl = Some(1000);
                r
            }
        }
        let fx = Fixture::new();
        let now = fx.now.clone();
        let c = Cache::new(Arc::new(Soa))
            .with_negative_ttl(5)
            .with_max_ttl(100)
            .with_clock(Arc::new(move || *now.lock().unwrap()));
        c.query("nx", RType::A).await;
        fx.advance(99);
        let hit = c.query_detailed("nx", RType::A).await;
        assert!(hit.cached);
        assert_eq!(hit.negative_ttl, Some(1));
        fx.advance(1);
        assert!(!c.query_detailed("nx", RType::A).await.cached);
    }

    #[tokio::test]
    async fn a_cached_answer_keeps_its_cname_chain() {
        struct Aliased;
        #[async_trait::async_trait]
        impl Resolver for Aliased {
            async fn query(&self, _name: &str, _rtype: RType) -> Answer {
                Answer::NoData
            }
            async fn query_detailed(&self, _name: &str, _rtype: RType) -> Response {
                let mut r = Response::new(Answer::Records {
                    data: vec![RData::Txt(vec![b"v=DKIM1; p=".to_vec()])].into(),
                    ttl: 60,
                });
                r.cname_chain = vec!["a.example".into(), "b.example".into()];
                r
            }
        }
        let c = Cache::new(Arc::new(Aliased));
        assert!(!c.query_detailed("a.example", RType::Txt).await.cached);
        let hit = c.query_detailed("a.example", RType::Txt).await;
        assert!(hit.cached);
        assert_eq!(hit.cname_chain, ["a.example", "b.example"]);
    }

    #[tokio::test]
    async fn real_clock_works() {
        let fx = Fixture::new();
        let c = Cache::new(fx.table.clone());
        c.query("pos", RType::A).await;
        assert!(matches!(
            c.query("pos", RType::A).await,
            Answer::Records { ttl, .. } if ttl == 60 || ttl == 59
        ));
        assert_eq!(fx.table.count("pos"), 1);
    }
}
