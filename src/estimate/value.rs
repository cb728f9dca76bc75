//! The values estimation produces: a figure with its interval (`Estimate`) and the six rates
//! every policy is judged by (`Rates`). Pure data; the report serialises them as they are.

use serde::{Deserialize, Serialize};

/// A figure with its 95% interval; all three null where the data cannot support it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub estimate: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl Estimate {
    pub const NULL: Estimate = Estimate { estimate: None, low: None, high: None };
    pub fn new(estimate: f64, low: f64, high: f64) -> Estimate {
        Estimate { estimate: Some(estimate), low: Some(low), high: Some(high) }
    }
}

/// The rates of one policy over a set of conversations: the handoff rate (known exactly from
/// replay) and the five outcome figures (`T`: an `Estimate` where they are estimated, a plain
/// number where they are known, as in the generator's truth). Embedded with
/// `#[serde(flatten)]`, so the fields appear in every JSON shape in this order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates<T> {
    pub handoff_rate: f64,
    pub meeting_rate: T,
    pub opportunity_rate: T,
    pub handoff_to_meeting: T,
    pub handoff_to_opportunity: T,
    pub pipeline_per_conversation: T,
}

/// Which of the five outcome figures of `Rates`; `Rates::get` reads one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rate {
    Meeting,
    Opportunity,
    HandoffToMeeting,
    HandoffToOpportunity,
    Pipeline,
}

impl Rate {
    /// In the order of the columns of `policies.csv` and `sweeps.csv`.
    pub const ALL: [Rate; 5] = [
        Rate::Meeting,
        Rate::Opportunity,
        Rate::HandoffToMeeting,
        Rate::HandoffToOpportunity,
        Rate::Pipeline,
    ];

    /// The field's (and column prefix's) name.
    pub fn name(self) -> &'static str {
        match self {
            Rate::Meeting => "meeting_rate",
            Rate::Opportunity => "opportunity_rate",
            Rate::HandoffToMeeting => "handoff_to_meeting",
            Rate::HandoffToOpportunity => "handoff_to_opportunity",
            Rate::Pipeline => "pipeline_per_conversation",
        }
    }

    /// Whether the figure is a share (bounded by 1) rather than an amount.
    pub fn is_share(self) -> bool {
        self != Rate::Pipeline
    }
}

impl<T: Copy> Rates<T> {
    pub fn get(&self, rate: Rate) -> T {
        match rate {
            Rate::Meeting => self.meeting_rate,
            Rate::Opportunity => self.opportunity_rate,
            Rate::HandoffToMeeting => self.handoff_to_meeting,
            Rate::HandoffToOpportunity => self.handoff_to_opportunity,
            Rate::Pipeline => self.pipeline_per_conversation,
        }
    }

    pub fn set(&mut self, rate: Rate, value: T) {
        *match rate {
            Rate::Meeting => &mut self.meeting_rate,
            Rate::Opportunity => &mut self.opportunity_rate,
            Rate::HandoffToMeeting => &mut self.handoff_to_meeting,
            Rate::HandoffToOpportunity => &mut self.handoff_to_opportunity,
            Rate::Pipeline => &mut self.pipeline_per_conversation,
        } = value;
    }

    /// The same handoff rate with every outcome figure replaced by `f(figure)`.
    pub fn map<U>(&self, mut f: impl FnMut(Rate, T) -> U) -> Rates<U> {
        Rates {
            handoff_rate: self.handoff_rate,
            meeting_rate: f(Rate::Meeting, self.meeting_rate),
            opportunity_rate: f(Rate::Opportunity, self.opportunity_rate),
            handoff_to_meeting: f(Rate::HandoffToMeeting, self.handoff_to_meeting),
            handoff_to_opportunity: f(Rate::HandoffToOpportunity, self.handoff_to_opportunity),
            pipeline_per_conversation: f(Rate::Pipeline, self.pipeline_per_conversation),
        }
    }
}

impl Rates<Estimate> {
    /// Every outcome figure null (the handoff rate stays).
    pub fn null_outcomes(&mut self) {
        *self = self.map(|_, _| Estimate::NULL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_rates_keep_the_field_order() {
        #[derive(Serialize)]
        struct Row {
            name: &'static str,
            #[serde(flatten)]
            rates: Rates<Option<f64>>,
            after: u8,
        }
        let rates = Rates {
            handoff_rate: 0.5,
            meeting_rate: Some(0.1),
            opportunity_rate: Some(0.2),
            handoff_to_meeting: None,
            handoff_to_opportunity: Some(0.3),
            pipeline_per_conversation: Some(10.0),
        };
        let json = serde_json::to_string(&Row { name: "a", rates, after: 1 }).unwrap();
        assert_eq!(
            json,
            r#"{"name":"a","handoff_rate":0.5,"meeting_rate":0.1,"opportunity_rate":0.2,"handoff_to_meeting":null,"handoff_to_opportunity":0.3,"pipeline_per_conversation":10.0,"after":1}"#
        );
    }

    #[test]
    fn get_set_and_map_address_the_same_field() {
        let mut rates: Rates<f64> = Rates::default();
        for (k, rate) in Rate::ALL.into_iter().enumerate() {
            rates.set(rate, k as f64);
        }
        for (k, rate) in Rate::ALL.into_iter().enumerate() {
            assert_eq!(rates.get(rate), k as f64);
        }
        let doubled = rates.map(|_, v| 2.0 * v);
        assert_eq!(doubled.get(Rate::Pipeline), 8.0);
        assert_eq!(Rate::ALL.map(Rate::name)[4], "pipeline_per_conversation");
    }
}
