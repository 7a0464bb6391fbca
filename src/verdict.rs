//! The receiver's verdict: SPF for the envelope, the DKIM results, then DMARC alignment with
//! the header From domain, ending in a disposition (none, quarantine, reject) and whether the
//! message counts as authenticated. This is what `spfcheck DOMAIN IP` answers.

use std::sync::Arc;

use serde::Serialize;

use crate::dns::Resolver;
use crate::eval::dkim::DkimResult;
use crate::eval::dkim_verify::{self, Verification};
use crate::eval::dmarc::{self, Disposition, DmarcOutput, DmarcRequest, DmarcResult, SpfIdentity};
use crate::eval::spf::{self, SpfOutput, SpfRequest, SpfResult};
use crate::message::Message;
use crate::record::dmarc::DmarcMode;

/// Everything a receiver knows about one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictRequest {
    pub spf: SpfRequest,
    /// The Author Domain (RFC5322.From).
    pub from_domain: String,
    /// The From address as given, if any.
    pub from: Option<String>,
    pub dkim: Vec<DkimResult>,
    pub mode: DmarcMode,
    /// RFC 7489 `pct` sample (0..=99).
    pub pct_sample: u8,
    /// The message whose DKIM-Signatures are verified (`--message`), if any.
    pub message: Option<Arc<Message<'static>>>,
}

/// The overall outcome, which the exit code reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// DMARC pass; or, with no DMARC policy, SPF pass.
    Authenticated,
    /// DMARC fail (whatever the disposition); or, with no DMARC policy, SPF not pass.
    NotAuthenticated,
    /// The published policy is broken (DMARC permerror; or no DMARC and SPF permerror).
    /// Serialised `permerror`, the RFCs' spelling, as in `spf.result` and `dmarc.result`.
    #[serde(rename = "permerror")]
    PermError,
    /// A DNS failure prevented a result. Serialised `temperror`.
    #[serde(rename = "temperror")]
    TempError,
}

/// The verdict with all its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub spf: SpfOutput,
    pub dkim: Vec<DkimResult>,
    pub dmarc: DmarcOutput,
    pub disposition: Disposition,
    pub outcome: Outcome,
    /// One sentence: why this disposition.
    pub reason: String,
}

/// Evaluates SPF and DMARC policy discovery concurrently (discovery does not depend on the SPF
/// result), then DMARC over the SPF and DKIM results. One deadline, `spf.limits.deadline` from
/// now, bounds the whole check (RFC 7208 §4.6.4), so a live check costs the longer of the two
/// evaluations, not the sum. `spf.trace` off evaluates SPF and DMARC without their traces
/// (the verdict is otherwise the same).
pub async fn evaluate(resolver: Arc<dyn Resolver>, req: &VerdictRequest) -> Verdict {
    let deadline = req
        .spf
        .limits
        .deadline
        .map(|d| tokio::time::Instant::now() + d);
    // DKIM verification of `--message` (key queries included) runs beside SPF and DMARC
    // discovery, under the same deadline; `t=`/`x=` are judged at the check's `now`.
    let verify = async {
        match &req.message {
            Some(m) => {
                let view = m.view();
                dkim_verify::verify_message(resolver.clone(), &view, req.spf.now, deadline).await
            }
            None => Vec::new(),
        }
    };
    let (spf, discovered, verified) = tokio::join!(
        spf::check_host_until(resolver.clone(), &req.spf, deadline),
        dmarc::discover_traced(
            resolver.clone(),
            &req.from_domain,
            req.mode,
            deadline,
            req.spf.trace
        ),
        verify
    );
    // Verified signatures first, in message order (topmost first), then the --dkim
    // assumptions: each keeps its source, and DMARC considers them all (RFC 9989 §5.3.4).
    let mut dkim: Vec<DkimResult> = verified.into_iter().map(verified_result).collect();
    dkim.extend(req.dkim.iter().cloned());
    let dmarc_req = DmarcRequest {
        from_domain: req.from_domain.clone(),
        spf: SpfIdentity {
            result: spf.result,
            domain: req.spf.domain.clone(),
            helo: req.spf.mail_from.is_empty(),
        },
        dkim: dkim.clone(),
        mode: req.mode,
        pct_sample: req.pct_sample,
        deadline: req.spf.limits.deadline,
    };
    let dmarc = discovered.evaluate(&dmarc_req).await;
    let outcome = match dmarc.result {
        DmarcResult::Pass => Outcome::Authenticated,
        DmarcResult::Fail => Outcome::NotAuthenticated,
        DmarcResult::PermError => Outcome::PermError,
        DmarcResult::TempError => Outcome::TempError,
        DmarcResult::None => match spf.result {
            SpfResult::Pass => Outcome::Authenticated,
            SpfResult::PermError => Outcome::PermError,
            SpfResult::TempError => Outcome::TempError,
            _ => Outcome::NotAuthenticated,
        },
    };
    let reason = match dmarc.result {
        DmarcResult::None => format!(
            "{}; SPF {} for {}: {}",
            dmarc.reason,
            spf.result,
            req.spf.domain,
            match outcome {
                Outcome::Authenticated => "authenticated by SPF alone",
                Outcome::NotAuthenticated => "not authenticated; delivered by local policy",
                Outcome::PermError => "the SPF policy is broken",
                Outcome::TempError => "SPF could not be evaluated",
            }
        ),
        _ => dmarc.reason.clone(),
    };
    Verdict {
        disposition: dmarc.disposition,
        spf,
        dkim,
        dmarc,
        outcome,
        reason,
    }
}

/// A verified signature as DMARC and the reports take it (`source: "message"`). An absent
/// `s=` stays absent rather than becoming an empty selector.
fn verified_result(v: Verification) -> DkimResult {
    DkimResult {
        domain: v.domain.to_ascii_lowercase(),
        selector: (!v.selector.is_empty()).then_some(v.selector),
        result: v.result,
        source: "message".to_string(),
        signature: Some(Box::new(v.detail)),
    }
}
