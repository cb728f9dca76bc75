//! The synthetic world: prospects with a latent readiness, signals arriving over a
//! conversation, AI agents that hand off stochastically, and outcomes from a documented causal
//! model in which handoff timing matters. Also the known truth of any policy under that model.
