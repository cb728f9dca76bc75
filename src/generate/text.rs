//! Message text for the synthetic world: many phrasings per signal, neutral small talk, AI and
//! rep replies, names and company domains. Pure: the caller passes the RNG.
//!
//! Neutral lines, openers and closers deliberately avoid the words that name a signal (price,
//! demo, security, a person to talk to ...), so that the `signals` column stays the truth of
//! what the text says and text detection can be checked against it.

use rand::seq::IndexedRandom;
use rand::Rng;

use crate::signals::vocabulary::Signal;

/// The phrasings of one signal (at least 12 each, varied in shape and register).
pub fn signal_phrases(signal: Signal) -> &'static [&'static str] {
    match signal {
        Signal::HumanRequest => &[
            "Can I talk to a human please?",
            "I'd like to speak with a real person.",
            "is there an actual person I can talk to",
            "Please connect me with someone from your sales team.",
            "can you put me in touch with a sales rep?",
            "I would prefer to speak to a human about this.",
            "Could a real person call me?",
            "honestly i'd rather talk to a human",
            "Let me speak to someone on your team directly.",
            "Are you a bot? I want to talk to a person.",
            "I need to speak with an account executive.",
            "Can someone from sales reach out to me?",
            "get me a human pls",
            "I'd like to talk to a sales representative, not a chatbot.",
        ],
        Signal::DemoRequest => &[
            "Can we book a demo?",
            "I'd love to see a demo of the product.",
            "could you show me a demo next week",
            "Is it possible to get a product walkthrough?",
            "We'd like a live demo for the team.",
            "can i see it in action? a quick demo would help",
            "Do you offer a demo?",
            "I want to schedule a demo with you guys.",
            "Would you be able to give us a demo this week?",
            "A product demo would be great.",
            "let's set up a demo",
            "Could we get a trial or a demo?",
            "I'd like a walkthrough of the platform.",
        ],
        Signal::Pricing => &[
            "How much does it cost?",
            "What's your pricing?",
            "can you send me pricing",
            "What does a license cost per seat?",
            "I'd like to understand the pricing tiers.",
            "how much is the pro plan",
            "Could you share a price list?",
            "What would this cost us per month?",
            "Is there a pricing page I can look at?",
            "whats the price for 50 users",
            "We need a quote for our team size.",
            "How is it priced, per user or flat fee?",
            "What are your rates for annual billing?",
        ],
        Signal::Timeline => &[
            "We need something in place by next quarter.",
            "Our timeline is to go live in about six weeks.",
            "we want to roll this out before end of year",
            "We're looking to implement this quarter.",
            "How fast can we get started? We have a deadline in March.",
            "our goal is to launch by January",
            "We're hoping to decide within the next month.",
            "The plan is to have it live by Q1.",
            "we need this up and running asap, like within 30 days",
            "Our go-live date is early next year.",
            "We want to switch over before our renewal date.",
            "Looking to start implementation in the next few weeks.",
            "Timeline wise we're aiming for next month.",
        ],
        Signal::Technical => &[
            "Do you have a REST API?",
            "What does your data model look like under the hood?",
            "is it hosted on AWS or GCP",
            "Can it handle 10 million records without slowing down?",
            "Which authentication methods do you support, SAML or OIDC?",
            "what's your uptime SLA",
            "Do you have webhooks for real-time events?",
            "How is latency on the API for bulk requests?",
            "We'd need to understand the technical architecture.",
            "Does it support single sign-on?",
            "Is there a sandbox environment for testing?",
            "what are the API rate limits",
            "Can we self-host it in our own VPC?",
        ],
        Signal::CustomWorkflow => &[
            "We have a pretty unusual approval workflow, can it be customized?",
            "Can we build custom workflows for our process?",
            "our process is kind of unique, does it support custom rules",
            "We'd need custom routing logic for our reps.",
            "Is it possible to configure multi-step custom approvals?",
            "We need a custom workflow for renewals.",
            "can the workflow be tailored to how we do things",
            "We have very specific business rules, can you model those?",
            "Could we set up custom stages for our pipeline?",
            "We'd want a bespoke workflow for each region.",
            "Does it allow custom automation rules?",
            "our workflow doesn't fit standard templates",
        ],
        Signal::Integration => &[
            "Does it integrate with Salesforce?",
            "We use HubSpot, is there an integration?",
            "can it connect to our data warehouse",
            "Do you integrate with Slack and Teams?",
            "We'd need it to sync with our ERP.",
            "Is there a native integration with Zendesk?",
            "how does it integrate with snowflake",
            "We need two-way sync with our CRM.",
            "Does it plug into Marketo?",
            "Is there a connector for NetSuite?",
            "Integration with our existing stack is a must.",
            "can we integrate it with our internal tools",
        ],
        Signal::Stakeholders => &[
            "I'll need to loop in my manager.",
            "Our CFO will want to weigh in on this.",
            "let me bring my boss into this conversation",
            "I need to run this by our leadership team.",
            "Adding my colleague from operations to the thread.",
            "The decision involves our VP and the finance lead.",
            "I'll have to check with the rest of the committee.",
            "my cofounder needs to sign off too",
            "Several departments will be involved in the decision.",
            "I'm cc'ing our head of IT.",
            "We have a buying committee that reviews tools like this.",
            "I'll share this with the other decision makers.",
        ],
        Signal::Procurement => &[
            "Our procurement team will need to review the contract.",
            "Do you accept purchase orders?",
            "we have to go through procurement for anything like this",
            "Can you fill out our vendor onboarding form?",
            "Our purchasing department requires three quotes.",
            "What are your standard contract terms and MSA?",
            "procurement will ask for your W-9 and insurance certificate",
            "We need to register you as a vendor first.",
            "Is there a master services agreement we can review?",
            "Our legal team will redline the contract.",
            "Do you work with our procurement portal (Coupa)?",
            "we need net 60 payment terms for procurement",
        ],
        Signal::SecurityReview => &[
            "Are you SOC 2 compliant?",
            "We'll need you to complete a security questionnaire.",
            "do you have ISO 27001",
            "Our infosec team needs to do a security review.",
            "Is data encrypted at rest and in transit?",
            "Can you share your latest penetration test report?",
            "We require GDPR compliance and a DPA.",
            "what's your security posture, any audits?",
            "Do you support data residency in the EU?",
            "We'll need a security assessment before going further.",
            "is it HIPAA compliant",
            "Our CISO will want to see your security documentation.",
        ],
        Signal::CustomPricing => &[
            "We'd need an enterprise agreement with custom pricing.",
            "Can you do volume discounts for 2,000 seats?",
            "we're looking for a custom quote for a multi-year deal",
            "Is enterprise pricing negotiable?",
            "For our size we'd expect a custom package.",
            "Could we get a tailored enterprise license?",
            "do you offer custom terms for large deployments",
            "We need a bespoke pricing structure across subsidiaries.",
            "What discounts are available for a three-year commitment?",
            "We'd want site-wide licensing at a negotiated rate.",
            "Can we discuss a custom contract for the whole company?",
            "volume pricing for all our regions?",
        ],
        Signal::Dissatisfaction => &[
            "This is frustrating, I've asked the same thing twice.",
            "I'm not happy with these answers.",
            "honestly this has been a pretty bad experience",
            "You're not really answering my question.",
            "This is taking way too long.",
            "I'm disappointed, I expected more from you.",
            "that's not helpful at all",
            "I'm getting annoyed with this back and forth.",
            "Your answers are confusing and unhelpful.",
            "We had a terrible experience with your onboarding last year.",
            "ugh this is so frustrating",
            "I'm really unhappy with how this is going.",
        ],
        Signal::Escalation => &[
            "I want to escalate this.",
            "Please escalate this to a manager.",
            "i need this escalated right away",
            "Who is your supervisor? I'd like to escalate.",
            "This needs to go to someone senior.",
            "If this isn't resolved I will escalate it.",
            "Can you escalate my request to your leadership?",
            "escalate please, this is urgent",
            "I'm going to raise a formal complaint.",
            "Let me talk to whoever is in charge.",
            "This has to be escalated today.",
            "I want to file a complaint about this.",
        ],
        Signal::Competitor => &[
            "We're also evaluating Gong and Outreach.",
            "How do you compare to Salesloft?",
            "we currently use a competitor and are thinking of switching",
            "Another vendor offered us a better deal.",
            "What makes you different from Apollo?",
            "We're comparing you against two other tools.",
            "your competitor has a feature you seem to lack",
            "We're in talks with another vendor too.",
            "Why should we pick you over Clari?",
            "Our current provider is cheaper, to be honest.",
            "we're looking at a few alternatives right now",
            "How do you stack up against the competition?",
        ],
        Signal::ObjectionPrice => &[
            "That's too expensive for us.",
            "Honestly it's out of our budget.",
            "the price is a bit steep",
            "We can't justify that cost right now.",
            "That's more than we wanted to spend.",
            "It seems pricey for what it does.",
            "too expensive tbh",
            "We don't have budget for this at that price.",
            "That cost is hard to sell internally.",
            "It's a lot of money for a team our size.",
            "we were hoping for something cheaper",
            "The pricing feels high compared to the value.",
        ],
        Signal::ObjectionTiming => &[
            "Now isn't a good time for us.",
            "Maybe next quarter, we're swamped right now.",
            "the timing just isn't right",
            "We're in the middle of a reorg, so not now.",
            "Can we revisit this later in the year?",
            "not a priority at the moment",
            "We just signed another tool, so the timing is bad.",
            "Let's circle back in a few months.",
            "we're too busy to take this on right now",
            "It's not the right time for a new project.",
            "Check back with me after the holidays.",
            "timing is off for us this year",
        ],
        Signal::ObjectionAuthority => &[
            "I'm not the one who makes this decision.",
            "I don't have sign-off authority for this.",
            "this isn't really my call",
            "I'd have to get approval from above.",
            "I can't approve purchases myself.",
            "Someone else owns the budget for this.",
            "im just researching, not the decision maker",
            "The final decision isn't up to me.",
            "I don't have the authority to commit to this.",
            "My director would have to approve it.",
            "Not my decision to make, unfortunately.",
            "I can recommend it but I can't sign.",
        ],
        Signal::ObjectionNeed => &[
            "I'm not sure we actually need this.",
            "We already have something that works fine.",
            "don't think this solves a problem we have",
            "Our current process is good enough.",
            "I'm not convinced we need another tool.",
            "We do this manually and it's fine.",
            "not sure it's relevant for us",
            "I don't see the need for it right now.",
            "Honestly we're managing without it.",
            "It doesn't seem like a fit for our needs.",
            "we don't really have that problem",
            "Not sure what problem this would solve for us.",
        ],
        Signal::ObjectionOther => &[
            "I have some concerns about this.",
            "I'm a bit skeptical, to be honest.",
            "not sure about this",
            "Something about it doesn't sit right with me.",
            "I have reservations.",
            "I'm hesitant to move forward.",
            "we've been burned by tools like this before",
            "I'm not fully convinced yet.",
            "there are a few concerns on our side",
            "I have doubts it will work for us.",
            "Let me think about it, I'm unsure.",
            "We have some hesitations about switching.",
        ],
        Signal::Scheduling => &[
            "What times work for you on Thursday?",
            "Can we move our call to tomorrow?",
            "i'm free tuesday afternoon",
            "Could we reschedule to next week?",
            "Does 3pm on Wednesday work?",
            "Please send me a calendar invite.",
            "what's your availability friday",
            "I can do Monday morning.",
            "Let's find a time that works.",
            "Can we push it by an hour?",
            "i have a conflict, can we do later",
            "Is 10am Eastern OK?",
            "Send over a few slots and I'll pick one.",
        ],
        Signal::SimpleQuestion => &[
            "Do you have a mobile app?",
            "Is there a free trial?",
            "what languages do you support",
            "Where is your company based?",
            "Do you offer customer support on weekends?",
            "Is there a user guide?",
            "can i export my data to csv",
            "How long does setup take?",
            "Do you have a dark mode?",
            "Is there a limit on the number of users?",
            "does it work on mac",
            "Do you have a status page?",
            "How do I reset my password?",
        ],
    }
}

/// Neutral prospect lines: small talk, acknowledgements and context, no signal.
pub const NEUTRAL_LINES: &[&str] = &[
    "Thanks for the info.",
    "ok got it",
    "Makes sense.",
    "Interesting, tell me more.",
    "Thanks for explaining that.",
    "Sounds good.",
    "We're based out of Denver.",
    "I found you through a blog post.",
    "A friend recommended you.",
    "Good to know.",
    "Appreciate the quick reply!",
    "cool",
    "That helps, thanks.",
    "Right, that's what I thought.",
    "I saw your webinar last month.",
    "We're growing pretty fast this year.",
    "I run the ops side of things here.",
    "Just browsing for now.",
    "Hmm, ok.",
    "That's useful.",
    "Great, thank you!",
    "We're a B2B software company.",
    "Let me read through that.",
    "I'll take a look at the link.",
    "Nice.",
    "Understood.",
    "that's pretty neat",
    "We've been growing our outbound motion.",
    "I'm looking into options for our reps.",
    "We mostly sell to mid-sized retailers.",
    "Got it, thanks.",
    "Perfect.",
    "ok thanks",
    "I read the case study, it was helpful.",
    "Sure.",
    "Alright.",
    "That's clear.",
    "Yes, that's right.",
    "No worries.",
    "Thanks, that answers it.",
    "We have offices in two countries.",
    "I'm new in this role.",
    "That's good to hear.",
    "Fair enough.",
    "We tried a spreadsheet approach before.",
    "I'll keep that in mind.",
    "Love that.",
    "Ok, noted.",
    "yep",
    "Good morning!",
    "Hi again.",
    "Thanks for getting back to me.",
    "Our reps spend a lot of time on follow-ups.",
    "Sounds promising.",
];

/// Short openers placed before a signal phrase now and then.
const OPENERS: &[&str] = &[
    "Hi,",
    "Hey,",
    "Hello!",
    "Thanks.",
    "Ok,",
    "Quick one:",
    "Hi there,",
    "Also,",
    "Hi again,",
    "Great.",
];

/// Short closers placed after a signal phrase now and then.
const CLOSERS: &[&str] = &["Thanks!", "Cheers.", "thx", "Thank you.", "Appreciate it.", "Best,"];

/// The AI's ordinary replies.
pub const AI_REPLIES: &[&str] = &[
    "Thanks for reaching out! Happy to help.",
    "Great question. Here is a short overview of how it works.",
    "Got it. Could you tell me a bit more about your team?",
    "Thanks for sharing that context.",
    "That makes sense. Many teams like yours start with our core plan.",
    "I can help with that. Here's a link to the relevant guide.",
    "Understood. What's the main challenge you're trying to solve?",
    "Happy to clarify. The short answer is yes.",
    "Thanks! I've noted that down.",
    "Good to hear. Is there anything else you'd like to know?",
    "Absolutely, let me pull that information for you.",
    "I appreciate the detail, that helps a lot.",
    "Sure thing. Here's what I'd suggest as a next step.",
    "I hear you. Let me see what I can do.",
    "That's a common question; here's how other customers handle it.",
    "Thanks for your patience.",
    "Noted. I'll include that in my summary.",
    "Let me check and get right back to you.",
];

/// AI questions that go with capturing one qualification field (`QUAL_FIELDS` order).
pub const AI_QUAL_LINES: [&[&str]; 4] = [
    &[
        "Do you have a budget range in mind for this?",
        "Roughly what budget have you set aside?",
        "Thanks, that budget range works with our plans.",
    ],
    &[
        "Who else is involved in the decision on your side?",
        "Are you the person who signs off on tools like this?",
        "Thanks, good to know who makes the call.",
    ],
    &[
        "What problem are you hoping to solve first?",
        "What's prompting the search right now?",
        "That use case is a great fit.",
    ],
    &[
        "When would you ideally like to be up and running?",
        "Is there a date you're working towards?",
        "Thanks, I've noted your target date.",
    ],
];

/// The AI's message announcing a handoff.
pub const AI_CONNECT_LINES: &[&str] = &[
    "Let me connect you with one of our account executives.",
    "I'm bringing in a colleague from our sales team who can help with this.",
    "Great, I'll hand you over to a specialist now.",
    "One moment, I'm connecting you with a member of our team.",
    "I've asked a teammate to join and take it from here.",
    "Let me loop in a human colleague who can answer that properly.",
];

/// A human rep's replies after the handoff.
pub const HUMAN_REPLIES: &[&str] = &[
    "Hi, thanks for your patience, I'm taking over from here.",
    "Happy to walk you through that.",
    "Good question, let me explain how customers of your size set this up.",
    "I can definitely get you the details on that.",
    "Thanks, I'll send over a summary after this.",
    "Let's make sure we cover everything your team needs.",
    "That's doable, we've done it for similar companies.",
    "I'll follow up with the documents today.",
    "Makes sense. What would a successful first month look like for you?",
    "Great, I'll put together a proposal.",
    "Thanks for the context, that's really helpful.",
    "I'll loop back with an answer by end of day.",
];

pub const FIRST_NAMES: &[&str] = &[
    "alex", "maria", "james", "priya", "chen", "fatima", "lucas", "sofia", "daniel", "aisha",
    "noah", "emma", "omar", "yuki", "liam", "olivia", "mateo", "hannah", "ravi", "grace",
];
pub const LAST_NAMES: &[&str] = &[
    "smith", "garcia", "nguyen", "patel", "mueller", "kim", "rossi", "okafor", "silva", "cohen",
    "tanaka", "johnson", "novak", "haddad", "larsen", "brown", "dubois", "kowalski", "reyes",
    "ali",
];
const COMPANY_A: &[&str] = &[
    "blue", "north", "bright", "iron", "green", "swift", "silver", "red", "clear", "summit", "oak",
    "nova", "peak", "river", "stone", "cloud",
];
const COMPANY_B: &[&str] = &[
    "wave", "field", "works", "labs", "logic", "forge", "point", "path", "line", "ridge", "bay",
    "craft", "grid", "gate",
];

/// The e-mail domain of an account, a pure function of its number.
pub fn company_domain(account: u64) -> String {
    let a = COMPANY_A[(account % COMPANY_A.len() as u64) as usize];
    let b = COMPANY_B[((account / COMPANY_A.len() as u64) % COMPANY_B.len() as u64) as usize];
    format!("{a}{b}{}.com", account / 224)
}

/// An e-mail-like participant address at `domain`.
pub fn person_address<R: Rng>(rng: &mut R, domain: &str) -> String {
    let first = FIRST_NAMES.choose(rng).copied().unwrap_or("alex");
    let last = LAST_NAMES.choose(rng).copied().unwrap_or("smith");
    format!("{first}.{last}@{domain}")
}

fn pick<R: Rng>(rng: &mut R, pool: &'static [&'static str]) -> &'static str {
    pool.choose(rng).copied().unwrap_or("")
}

/// Drops one letter of a filler word now and then, the way people type.
fn maybe_typo<R: Rng>(rng: &mut R, word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() > 3 && rng.random_bool(0.15) {
        let at = rng.random_range(1..chars.len() - 1);
        chars.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, c)| *c).collect()
    } else {
        word.to_string()
    }
}

/// A prospect message carrying exactly `signals` (zero, one or two).
pub fn prospect_text<R: Rng>(rng: &mut R, signals: &[Signal]) -> String {
    if signals.is_empty() {
        let mut line = pick(rng, NEUTRAL_LINES).to_string();
        if rng.random_bool(0.2) {
            let opener = pick(rng, OPENERS);
            line = format!("{} {line}", maybe_typo(rng, opener));
        }
        return casual(rng, line);
    }
    let mut parts: Vec<String> = Vec::with_capacity(4);
    if rng.random_bool(0.3) {
        let opener = pick(rng, OPENERS);
        parts.push(maybe_typo(rng, opener));
    } else if rng.random_bool(0.15) {
        parts.push(pick(rng, NEUTRAL_LINES).to_string());
    }
    for s in signals {
        parts.push(pick(rng, signal_phrases(*s)).to_string());
    }
    if rng.random_bool(0.2) {
        let closer = pick(rng, CLOSERS);
        parts.push(maybe_typo(rng, closer));
    }
    casual(rng, parts.join(" "))
}

/// Some people write everything in lower case.
fn casual<R: Rng>(rng: &mut R, text: String) -> String {
    if rng.random_bool(0.12) {
        text.to_lowercase()
    } else {
        text
    }
}

/// An AI reply; when it captures qualification fields (mask bits), it asks about them.
pub fn ai_text<R: Rng>(rng: &mut R, captured: u8) -> String {
    let mut parts = vec![pick(rng, AI_REPLIES).to_string()];
    for (i, lines) in AI_QUAL_LINES.iter().enumerate() {
        if captured & (1 << i) != 0 {
            parts.push(pick(rng, lines).to_string());
        }
    }
    parts.join(" ")
}

pub fn ai_connect_text<R: Rng>(rng: &mut R) -> String {
    pick(rng, AI_CONNECT_LINES).to_string()
}

pub fn human_text<R: Rng>(rng: &mut R) -> String {
    pick(rng, HUMAN_REPLIES).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signal_has_at_least_twelve_distinct_phrasings() {
        for s in Signal::ALL {
            let phrases = signal_phrases(s);
            let distinct: std::collections::BTreeSet<_> = phrases.iter().collect();
            assert!(distinct.len() >= 12, "{s}: {}", distinct.len());
        }
    }

    #[test]
    fn neutral_pool_is_large() {
        assert!(NEUTRAL_LINES.len() >= 50);
    }

    #[test]
    fn company_domains_differ_between_nearby_accounts() {
        assert_ne!(company_domain(1), company_domain(2));
        assert_ne!(company_domain(1), company_domain(225));
    }
}
