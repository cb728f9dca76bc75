//! The shipped default lexicon (phrases per signal) and its overrides from the policies file.
//!
//! Phrases are lower case and matched case-insensitively on word boundaries (see `detect`),
//! so every inflection a prospect writes must be listed (`integrate`, `integrates`, ...).
//! Multi-word phrases are preferred: a single common word would fire on unrelated messages.
//! Apostrophes are written as `'`; detection folds typographic apostrophes onto it.
//!
//! CRM systems (Salesforce, HubSpot, Dynamics) are listed under `integration`: a prospect of
//! an AI SDR names them mostly as systems to connect to. Sales-engagement and AI-SDR vendors
//! (and the generic "we currently use", "switching from" ...) are listed under `competitor`.

use std::collections::BTreeMap;

use super::vocabulary::Signal;

/// `[lexicon]` (replace a signal's phrases) and `[lexicon.extend]` (add to them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LexiconConfig {
    pub overrides: BTreeMap<Signal, Vec<String>>,
    pub extend: BTreeMap<Signal, Vec<String>>,
}

impl LexiconConfig {
    /// The phrases of `signal` after `[lexicon]` and `[lexicon.extend]`: the override (or the
    /// default) followed by the extension.
    pub fn phrases(&self, signal: Signal) -> Vec<String> {
        let mut phrases: Vec<String> = match self.overrides.get(&signal) {
            Some(own) => own.clone(),
            None => default_phrases(signal).iter().map(|p| p.to_string()).collect(),
        };
        if let Some(extra) = self.extend.get(&signal) {
            phrases.extend(extra.iter().cloned());
        }
        phrases
    }
}

/// The default phrases for one signal.
pub fn default_phrases(signal: Signal) -> &'static [&'static str] {
    match signal {
        Signal::HumanRequest => HUMAN_REQUEST,
        Signal::DemoRequest => DEMO_REQUEST,
        Signal::Pricing => PRICING,
        Signal::Timeline => TIMELINE,
        Signal::Technical => TECHNICAL,
        Signal::CustomWorkflow => CUSTOM_WORKFLOW,
        Signal::Integration => INTEGRATION,
        Signal::Stakeholders => STAKEHOLDERS,
        Signal::Procurement => PROCUREMENT,
        Signal::SecurityReview => SECURITY_REVIEW,
        Signal::CustomPricing => CUSTOM_PRICING,
        Signal::Dissatisfaction => DISSATISFACTION,
        Signal::Escalation => ESCALATION,
        Signal::Competitor => COMPETITOR,
        Signal::ObjectionPrice => OBJECTION_PRICE,
        Signal::ObjectionTiming => OBJECTION_TIMING,
        Signal::ObjectionAuthority => OBJECTION_AUTHORITY,
        Signal::ObjectionNeed => OBJECTION_NEED,
        Signal::ObjectionOther => OBJECTION_OTHER,
        Signal::Scheduling => SCHEDULING,
        Signal::SimpleQuestion => SIMPLE_QUESTION,
    }
}

const HUMAN_REQUEST: &[&str] = &[
    "talk to a human", "speak to a human", "speak with a human", "talk with a human",
    "chat with a human", "talk to a person", "speak to a person", "speak with a person",
    "talk to a real", "speak to a real", "speak with a real", "chat with a real",
    "real person", "real human", "actual person", "actual human", "human being", "live person",
    "live agent", "talk to someone", "speak to someone", "speak with someone", "talk with someone",
    "talk to somebody", "speak to somebody", "chat with someone", "sales rep", "sales reps",
    "sales representative", "salesperson", "sales person", "account executive",
    "can someone call me", "could someone call me", "someone call me", "someone give me a call",
    "have someone call", "have someone reach out", "have someone contact", "give me a call",
    "call me back", "call me", "connect me with", "connect me to", "put me in touch",
    "transfer me", "is this a bot", "are you a bot", "are you a robot", "are you an ai",
    "are you human", "is this automated", "not a bot", "no bots", "talk to sales",
    "speak to sales", "speak with sales", "contact sales", "talk to your team",
    "speak to your team", "speak with your team", "human please", "a human please",
    "person please", "get a human", "need a human", "want a human", "someone from your team",
    "somebody from your team",
];

const DEMO_REQUEST: &[&str] = &[
    "demo", "demos", "demo call", "product demo", "live demo", "book a demo", "schedule a demo",
    "set up a demo", "request a demo", "see a demo", "walkthrough", "walk-through", "walk through",
    "walk me through", "walk us through", "show me how", "show us how", "show me the product",
    "show me the platform", "see the product", "see the platform", "see it in action",
    "see it live", "screen share", "screenshare", "product tour", "a tour", "quick tour",
    "overview call", "discovery call", "intro call", "see how it works", "how it looks",
    "look at the platform", "a presentation",
];

const PRICING: &[&str] = &[
    "price", "prices", "pricing", "priced", "how much", "cost", "costs", "what does it cost",
    "quote", "a quote", "quotation", "price list", "pricing page", "per seat", "per user",
    "per month", "per year", "per license", "monthly fee", "annual fee", "fees",
    "subscription", "license fee", "licensing", "pricing plans", "which plan", "what plans",
    "paid plan", "free trial", "free tier", "discount", "discounts", "ballpark",
    "billing", "billed", "how expensive", "set us back",
];

const TIMELINE: &[&str] = &[
    "go live", "go-live", "golive", "going live", "launch by", "launch date", "launching in",
    "roll out", "rollout", "roll-out", "rolling out", "deadline", "deadlines", "timeline",
    "timelines", "timeframe", "time frame", "by end of", "by the end of", "end of quarter",
    "end of the quarter", "end of this month", "end of the month", "end of the year",
    "this quarter", "by q1", "by q2", "by q3", "by q4", "in q1", "in q2", "in q3", "in q4",
    "how long does implementation", "how long does it take", "how long to implement",
    "how long will it take", "implementation time",
    "onboarding time", "up and running", "start date", "need it by", "need this by",
    "need it live", "live by", "ready by", "asap", "as soon as possible", "urgent", "urgently",
    "within two weeks", "within 2 weeks", "within a month", "by next week", "kick off",
    "kickoff", "kick-off",
];

const TECHNICAL: &[&str] = &[
    "api", "apis", "rest api", "graphql", "webhook", "webhooks", "sdk", "architecture",
    "data model", "schema", "rate limit", "rate limits", "latency", "uptime", "sla",
    "on-prem", "on prem", "on premise", "on-premise", "on premises", "self-hosted", "self hosted",
    "hosted", "hosting", "data residency", "technical", "tech stack", "documentation",
    "developer docs", "api docs", "endpoint", "endpoints", "json", "oauth", "authentication",
    "scalability", "scale to", "throughput", "database", "llm", "which model", "what model",
    "language model", "fine-tune", "fine tune", "fine-tuning", "under the hood",
    "infrastructure", "aws", "azure", "gcp", "kubernetes", "deployment", "sandbox",
    "staging environment", "data export", "export the data", "bulk export", "export our data",
    "how does the ai", "how does it work technically", "training data", "hallucinate",
    "hallucinations",
];

const CUSTOM_WORKFLOW: &[&str] = &[
    "custom workflow", "custom workflows", "our workflow", "our workflows", "workflow",
    "workflows", "our process", "our own process", "our sales process", "routing rules",
    "lead routing", "route leads", "routing", "round robin", "round-robin", "custom logic",
    "custom rules", "custom fields", "custom field", "custom objects", "customize", "customise",
    "customization", "customisation", "customizable", "tailor", "tailored", "configure",
    "configurable", "bespoke", "specific process", "unique process", "multi-step", "sequences",
    "cadence", "cadences", "handoff rules", "territory", "territories", "conditional logic",
    "branching", "our playbook", "playbook", "qualification criteria", "scoring rules",
    "lead scoring",
];

const INTEGRATION: &[&str] = &[
    "integration", "integrations", "integrate", "integrates", "integrated", "integrating",
    "connect to our", "connect to your", "connect with our", "connects to", "connects with",
    "connector", "connectors", "sync", "syncs", "synced", "syncing", "two-way sync",
    "bi-directional", "bidirectional", "plug into", "plugs into", "plugin", "plug-in", "zapier",
    "salesforce", "sfdc", "hubspot", "hub spot", "dynamics 365", "microsoft dynamics", "slack",
    "microsoft teams", "ms teams", "marketo", "pardot", "gmail", "outlook", "google workspace",
    "zendesk", "intercom", "snowflake", "data warehouse", "crm", "our crm", "your crm",
    "import our", "import contacts", "import leads", "push data", "pull data", "work with our",
    "compatible with",
];

const STAKEHOLDERS: &[&str] = &[
    "my boss", "my manager", "my director", "my vp", "my ceo", "my cfo", "my cto",
    "loop in", "looping in", "looped in", "cc'd", "cc'ing", "cc my", "ccing", "copying my",
    "copied my", "my colleague", "my colleagues", "a colleague", "colleague of mine",
    "my coworker", "my co-worker", "my coworkers", "my cofounder", "my co-founder",
    "my business partner", "our cto", "our cfo", "our ceo", "our coo", "our cro", "our vp",
    "our head of", "our director", "our it team", "our it department", "our security team",
    "our legal team", "our finance team", "our revops", "our sales ops", "our ops team",
    "decision makers", "decision-makers", "buying committee", "stakeholder", "stakeholders",
    "the rest of the team", "rest of my team", "with my team", "with the team", "share this with", "forward this to",
    "forwarding this to", "forwarded this to", "run it by", "run this by", "check with my",
    "check with our", "discuss with my", "discuss internally", "discuss it internally",
    "bring in", "join the call", "joining the call", "include my", "adding my",
    "added my", "the team here", "our leadership", "leadership team", "my partner",
];

const PROCUREMENT: &[&str] = &[
    "procurement", "purchasing team", "purchasing department", "purchase order", "po number",
    "vendor onboarding", "vendor registration", "vendor form", "supplier form", "new vendor",
    "approved vendor", "vendor approval", "supplier onboarding", "rfp", "rfq", "rfi",
    "request for proposal", "tender", "msa", "master services agreement",
    "master service agreement", "contract", "contracts", "contract terms", "legal review",
    "redline", "redlines", "our legal", "legal department", "legal team", "invoice",
    "invoicing", "net 30", "net 60", "net 90", "payment terms", "w-9", "w9", "order form",
    "terms and conditions", "vendor assessment", "sourcing team", "sign the contract",
];

const SECURITY_REVIEW: &[&str] = &[
    "security review", "security questionnaire", "security assessment", "security team",
    "security requirements", "security docs", "infosec", "info sec", "information security",
    "soc 2", "soc2", "soc ii", "soc 1", "soc report", "iso 27001", "iso27001", "iso 27701",
    "iso certified", "iso certification", "gdpr", "ccpa", "hipaa", "pen test", "pentest",
    "pen-test", "penetration test", "penetration testing", "sso", "saml", "single sign-on",
    "single sign on", "okta", "scim", "2fa", "mfa", "two-factor", "two factor", "encryption",
    "encrypted", "data retention", "data privacy", "privacy policy", "dpa",
    "data processing agreement", "vulnerability", "vulnerabilities", "compliance", "compliant",
    "audit", "audit log", "audit logs", "access control", "access controls", "rbac",
    "role-based access", "caiq", "vendor risk", "trust center", "subprocessors", "sub-processors",
    "pii", "personal data",
];

const CUSTOM_PRICING: &[&str] = &[
    "enterprise pricing", "enterprise plan", "enterprise tier", "enterprise license",
    "enterprise agreement", "enterprise deal", "custom pricing", "custom price", "custom quote",
    "custom plan", "custom contract", "custom package", "volume discount", "volume pricing",
    "bulk pricing", "bulk discount", "multi-year", "multi year", "multiyear", "annual contract",
    "site license", "unlimited seats", "unlimited users", "negotiate", "negotiable",
    "non-standard", "special pricing", "tiered pricing", "company-wide", "company wide",
    "org-wide", "organization-wide", "nonprofit discount", "non-profit discount",
    "education discount", "startup discount", "hundreds of seats", "thousands of users",
    "hundreds of users", "for all our reps",
];

const DISSATISFACTION: &[&str] = &[
    "frustrated", "frustrating", "frustration", "annoyed", "annoying", "disappointed",
    "disappointing", "not happy", "unhappy", "not impressed", "waste of time", "wasting my time",
    "wasting our time", "wasted my time", "ridiculous", "terrible", "awful", "useless",
    "not helpful", "unhelpful", "not helping", "doesn't help", "not listening",
    "not what i asked", "i already told you", "already told you", "already answered",
    "i already said", "going in circles", "keep repeating", "same question again", "stop asking",
    "stop emailing", "stop messaging", "stop texting", "fed up", "sick of", "unacceptable",
    "poor service", "bad experience", "horrible", "complaint", "not answering my question",
    "didn't answer my question", "did not answer", "still waiting", "no one got back",
    "nobody got back", "never got back", "wtf", "pointless", "makes no sense", "confusing",
    "this is a joke", "irritating", "irritated",
];

const ESCALATION: &[&str] = &[
    "speak to a manager", "talk to a manager", "speak with a manager", "speak to your manager",
    "talk to your manager", "speak with your manager", "your supervisor", "a supervisor",
    "your boss", "escalate", "escalating", "escalation", "someone in charge", "who is in charge",
    "who's in charge", "someone more senior", "someone senior", "your head of sales",
    "file a complaint", "formal complaint", "lodge a complaint", "higher up", "your ceo",
    "your founder", "speak to the owner", "your management", "report this", "a manager please",
];

const COMPETITOR: &[&str] = &[
    "compared to", "compare to", "compare you", "comparing you", "compare with", "compared with",
    "comparison", "versus", "vs", "we currently use", "currently using", "we're using",
    "we are using", "switching from", "switch from", "moving from", "move from",
    "migrating from", "migrate from", "alternative to", "alternatives", "competitor",
    "competitors", "another vendor", "other vendors", "another provider",
    "other provider", "other tools", "better than", "different from", "what makes you different",
    "outreach.io", "salesloft", "apollo", "apollo.io", "gong", "zoominfo", "zoom info",
    "conversica", "drift", "qualified.com", "11x", "artisan ai", "regie.ai", "lemlist",
    "instantly.ai", "reply.io", "seamless.ai", "lusha", "clari", "chorus.ai", "pipedrive",
    "close.com", "zoho", "freshsales", "exceed.ai", "saleshandy", "clay.com",
];

const OBJECTION_PRICE: &[&str] = &[
    "too expensive", "too pricey", "too costly", "expensive", "pricey", "overpriced",
    "can't afford", "cannot afford", "can not afford", "cant afford", "out of our budget",
    "over our budget", "over budget", "beyond our budget", "outside our budget", "no budget",
    "don't have the budget", "dont have the budget", "don't have budget", "dont have budget",
    "do not have the budget", "budget is tight", "tight budget", "budget constraints",
    "limited budget", "budget freeze", "costs too much", "price is too high", "price is high",
    "too much money", "not worth the", "not worth it", "hard to justify", "justify the cost",
    "justify the price", "spend that much", "a lot of money", "cheaper option",
    "cheaper alternative", "pretty steep", "a bit steep", "too steep",
];

const OBJECTION_TIMING: &[&str] = &[
    "not right now", "not now", "not the right time", "bad timing", "wrong time",
    "maybe next quarter", "until next quarter", "maybe next year", "until next year",
    "not until", "reach out later",
    "circle back", "check back", "touch base later", "follow up in", "follow up next",
    "too busy", "swamped", "not a priority right now", "not a priority", "not a focus",
    "revisit", "later this year", "after the holidays", "in a few months", "in a couple of months",
    "not ready yet", "not ready", "on hold", "put this on hold", "not this quarter",
    "hiring freeze", "maybe later", "some other time", "too early for us", "down the road",
    "down the line", "later in the year",
];

const OBJECTION_AUTHORITY: &[&str] = &[
    "not my decision", "not my call", "not the decision maker", "not the decision-maker",
    "i don't make the decision", "i dont make the decision", "i don't decide",
    "i'm not the one who decides", "need approval", "need sign-off", "need sign off",
    "needs approval", "sign off from", "sign-off from", "above my pay grade",
    "above my paygrade", "my boss decides", "my manager decides", "i'd have to ask",
    "i would have to ask", "i need to check with", "i'd need to check with", "need to run it by",
    "need to run this by", "get buy-in", "get buy in", "not up to me", "out of my hands",
    "have to get approval", "have to get permission", "need permission", "final say",
    "doesn't have the authority", "don't have the authority",
];

const OBJECTION_NEED: &[&str] = &[
    "don't need", "dont need", "do not need", "no need for", "not interested",
    "no interest", "we're fine", "we are fine", "happy with our current", "happy with what we have",
    "happy with our", "already have a solution", "already have something", "already have a tool",
    "already covered", "not a fit", "not a good fit", "not the right fit", "not relevant",
    "doesn't apply to us", "not a problem for us", "not a pain point", "don't see the value",
    "dont see the value", "don't see the need", "not convinced", "why would we need",
    "do it manually", "handle it in-house", "handle it in house", "in-house", "in house team",
    "not looking for", "not in the market", "no use case", "unsubscribe", "remove me",
    "take me off", "don't really need", "not needed",
];

const OBJECTION_OTHER: &[&str] = &[
    "concern", "concerns", "concerned", "worried", "hesitant", "hesitation",
    "skeptical", "sceptical", "reservations", "not comfortable", "uncomfortable",
    "don't trust", "dont trust", "do not trust", "the catch", "drawback", "drawbacks",
    "downside", "downsides", "risky", "too good to be true", "sounds robotic", "sound robotic",
    "spammy", "not sure about", "afraid",
];

const SCHEDULING: &[&str] = &[
    "reschedule", "re-schedule", "rescheduling", "move our call", "move the call",
    "move the meeting", "move our meeting", "push the meeting", "push our call",
    "what time works", "what times work", "which time works", "what time is good",
    "time slot", "time slots", "a slot", "book a slot", "available slots", "open slots",
    "your availability", "my availability", "are you available", "are you free",
    "i'm free", "i am free", "free on", "does tuesday work", "does monday work",
    "does wednesday work", "does thursday work", "does friday work", "tomorrow at",
    "calendar invite", "calendar link", "send an invite", "send me an invite", "the invite",
    "calendly", "book a time", "book a call", "schedule a call", "set up a call",
    "set up a time", "pick a time", "find a time", "a good time", "works for me",
    "cancel the meeting", "cancel our call", "cancel the call", "running late", "time zone",
    "timezone", "am or pm", "let's meet", "lets meet", "meeting link", "zoom link",
];

const SIMPLE_QUESTION: &[&str] = &[
    "quick question", "simple question", "do you support", "does it support", "do you offer",
    "does it offer", "do you have", "does it have", "does it come with", "how do i",
    "how do you", "how does", "what is", "what are", "is there a way",
    "is it possible to", "where can i find", "where can i", "where do i", "what languages",
    "which languages", "just wondering", "just curious", "i was wondering", "how many",
    "what kind of", "what type of", "what types of", "does it work",
    "do you work with", "is there an", "are there any", "what happens if", "who uses",
];
