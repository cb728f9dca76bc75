//! The signal vocabulary of policies.md: signal labels, their bit sets, and the situations
//! and guards they feed.

use std::fmt;

/// One label on a prospect message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Signal {
    HumanRequest,
    DemoRequest,
    Pricing,
    Timeline,
    Technical,
    CustomWorkflow,
    Integration,
    Stakeholders,
    Procurement,
    SecurityReview,
    CustomPricing,
    Dissatisfaction,
    Escalation,
    Competitor,
    ObjectionPrice,
    ObjectionTiming,
    ObjectionAuthority,
    ObjectionNeed,
    ObjectionOther,
    Scheduling,
    SimpleQuestion,
}

impl Signal {
    pub const ALL: [Signal; 21] = [
        Signal::HumanRequest,
        Signal::DemoRequest,
        Signal::Pricing,
        Signal::Timeline,
        Signal::Technical,
        Signal::CustomWorkflow,
        Signal::Integration,
        Signal::Stakeholders,
        Signal::Procurement,
        Signal::SecurityReview,
        Signal::CustomPricing,
        Signal::Dissatisfaction,
        Signal::Escalation,
        Signal::Competitor,
        Signal::ObjectionPrice,
        Signal::ObjectionTiming,
        Signal::ObjectionAuthority,
        Signal::ObjectionNeed,
        Signal::ObjectionOther,
        Signal::Scheduling,
        Signal::SimpleQuestion,
    ];

    pub const OBJECTIONS: [Signal; 5] = [
        Signal::ObjectionPrice,
        Signal::ObjectionTiming,
        Signal::ObjectionAuthority,
        Signal::ObjectionNeed,
        Signal::ObjectionOther,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Signal::HumanRequest => "human_request",
            Signal::DemoRequest => "demo_request",
            Signal::Pricing => "pricing",
            Signal::Timeline => "timeline",
            Signal::Technical => "technical",
            Signal::CustomWorkflow => "custom_workflow",
            Signal::Integration => "integration",
            Signal::Stakeholders => "stakeholders",
            Signal::Procurement => "procurement",
            Signal::SecurityReview => "security_review",
            Signal::CustomPricing => "custom_pricing",
            Signal::Dissatisfaction => "dissatisfaction",
            Signal::Escalation => "escalation",
            Signal::Competitor => "competitor",
            Signal::ObjectionPrice => "objection:price",
            Signal::ObjectionTiming => "objection:timing",
            Signal::ObjectionAuthority => "objection:authority",
            Signal::ObjectionNeed => "objection:need",
            Signal::ObjectionOther => "objection:other",
            Signal::Scheduling => "scheduling",
            Signal::SimpleQuestion => "simple_question",
        }
    }

    /// Parses a label of the vocabulary (already trimmed and lower-cased). An objection of an
    /// unknown category is `objection:other`; any other unknown label is `None`.
    pub fn parse(label: &str) -> Option<Signal> {
        if let Some(s) = Signal::ALL.iter().find(|s| s.name() == label) {
            return Some(*s);
        }
        if label.starts_with("objection:") || label == "objection" {
            return Some(Signal::ObjectionOther);
        }
        None
    }

    /// Strict parse for the policies file: only exact vocabulary names.
    pub fn parse_exact(label: &str) -> Option<Signal> {
        Signal::ALL.iter().find(|s| s.name() == label).copied()
    }

    /// `parse_exact` for a key of the policies file; the error lists the vocabulary.
    pub fn parse_key(label: &str) -> Result<Signal, String> {
        Signal::parse_exact(label).ok_or_else(|| {
            let known: Vec<&str> = Signal::ALL.iter().map(|s| s.name()).collect();
            format!("unknown signal `{label}` (expected one of {})", known.join(", "))
        })
    }

    pub fn bit(self) -> SignalSet {
        SignalSet(1 << (self as u8))
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of signals as a bit set: one `u32` per message keeps replay compact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SignalSet(pub u32);

impl SignalSet {
    pub const EMPTY: SignalSet = SignalSet(0);

    pub fn contains(self, s: Signal) -> bool {
        self.0 & s.bit().0 != 0
    }
    pub fn insert(&mut self, s: Signal) {
        self.0 |= s.bit().0;
    }
    pub fn union(self, other: SignalSet) -> SignalSet {
        SignalSet(self.0 | other.0)
    }
    pub fn intersects(self, other: SignalSet) -> bool {
        self.0 & other.0 != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn iter(self) -> impl Iterator<Item = Signal> {
        Signal::ALL.into_iter().filter(move |s| self.contains(*s))
    }
    pub fn of(signals: &[Signal]) -> SignalSet {
        signals.iter().fold(SignalSet::EMPTY, |acc, s| acc.union(s.bit()))
    }
    /// `;`-joined names in vocabulary order (the output format of `signals`).
    pub fn to_label_list(self) -> String {
        self.iter().map(Signal::name).collect::<Vec<_>>().join(";")
    }
}

/// The seven handoff situations, plus the score situation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Situation {
    HumanRequest,
    HighIntent,
    ComplexDiscovery,
    MultipleStakeholders,
    Enterprise,
    Sensitive,
    RepeatedObjection,
    Score,
}

impl Situation {
    /// The seven situations of the framework (without `score`).
    pub const SEVEN: [Situation; 7] = [
        Situation::HumanRequest,
        Situation::HighIntent,
        Situation::ComplexDiscovery,
        Situation::MultipleStakeholders,
        Situation::Enterprise,
        Situation::Sensitive,
        Situation::RepeatedObjection,
    ];

    /// The seven situations and `score`, in slot order.
    pub const ALL: [Situation; 8] = [
        Situation::HumanRequest,
        Situation::HighIntent,
        Situation::ComplexDiscovery,
        Situation::MultipleStakeholders,
        Situation::Enterprise,
        Situation::Sensitive,
        Situation::RepeatedObjection,
        Situation::Score,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Situation::HumanRequest => "human_request",
            Situation::HighIntent => "high_intent",
            Situation::ComplexDiscovery => "complex_discovery",
            Situation::MultipleStakeholders => "multiple_stakeholders",
            Situation::Enterprise => "enterprise",
            Situation::Sensitive => "sensitive",
            Situation::RepeatedObjection => "repeated_objection",
            Situation::Score => "score",
        }
    }

    pub fn parse(s: &str) -> Option<Situation> {
        Situation::ALL.iter().find(|x| x.name() == s).copied()
    }

    /// The signals that make this situation hold (besides participants and the account).
    pub fn signals(self) -> SignalSet {
        use Signal::*;
        match self {
            Situation::HumanRequest => SignalSet::of(&[HumanRequest]),
            Situation::HighIntent => SignalSet::of(&[DemoRequest, Pricing, Timeline]),
            Situation::ComplexDiscovery => SignalSet::of(&[Technical, CustomWorkflow, Integration]),
            Situation::MultipleStakeholders => SignalSet::of(&[Stakeholders]),
            Situation::Enterprise => SignalSet::of(&[Procurement, SecurityReview, CustomPricing]),
            Situation::Sensitive => SignalSet::of(&[Dissatisfaction, Escalation, Competitor]),
            Situation::RepeatedObjection | Situation::Score => SignalSet::EMPTY,
        }
    }
}

impl fmt::Display for Situation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The guards: situations in which the AI should not hand off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Guard {
    QualificationIncomplete,
    Scheduling,
    SimpleQuestion,
}

impl Guard {
    pub const ALL: [Guard; 3] =
        [Guard::QualificationIncomplete, Guard::Scheduling, Guard::SimpleQuestion];

    pub fn name(self) -> &'static str {
        match self {
            Guard::QualificationIncomplete => "qualification_incomplete",
            Guard::Scheduling => "scheduling",
            Guard::SimpleQuestion => "simple_question",
        }
    }
    pub fn parse(s: &str) -> Option<Guard> {
        Guard::ALL.iter().find(|g| g.name() == s).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signal_round_trips_through_its_name() {
        for s in Signal::ALL {
            assert_eq!(Signal::parse(s.name()), Some(s));
        }
    }

    #[test]
    fn unknown_objection_category_is_other() {
        assert_eq!(Signal::parse("objection:budgetary"), Some(Signal::ObjectionOther));
        assert_eq!(Signal::parse("nonsense"), None);
        assert_eq!(Signal::parse_exact("objection:budgetary"), None);
    }

    #[test]
    fn signal_set_holds_what_was_inserted() {
        let mut set = SignalSet::EMPTY;
        set.insert(Signal::Pricing);
        set.insert(Signal::SimpleQuestion);
        assert!(set.contains(Signal::Pricing));
        assert!(!set.contains(Signal::DemoRequest));
        assert_eq!(set.to_label_list(), "pricing;simple_question");
    }
}
