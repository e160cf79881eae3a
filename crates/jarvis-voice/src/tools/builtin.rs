//! The built-in tools: the member's profile, the class schedule, goals, interactions, facts,
//! preferences, hand-off to staff and the end of the conversation. Each acts on the member and
//! gym of its [`CallContext`] only.

use async_trait::async_trait;
use jarvis_core::PageRequest;
use jarvis_core::model::{
    Actor, FactSource, Locale, MAX_GOALS, MemberPatch, NewFollowUp, NewMemberFact, Weekday,
};
use serde_json::{Value, json};
use time::Date;

use super::{CallContext, ToolEffect, ToolError, ToolOutput, VoiceTool};
use crate::instructions::{classes_on, weekday_of};

/// Tools write as the server itself: the audit log names the session in the change.
fn actor() -> Actor {
    Actor::system()
}

fn page(limit: u32) -> Result<PageRequest, ToolError> {
    PageRequest::new(Some(limit), None).map_err(|e| ToolError::Failed(e.message))
}

fn str_arg<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str).map(str::trim)
}

/// `get_member_profile`: the member's own file, as the assistant may use it.
#[derive(Debug, Clone, Copy)]
pub struct GetMemberProfile;

#[async_trait]
impl VoiceTool for GetMemberProfile {
    fn name(&self) -> &str {
        "get_member_profile"
    }
    fn description(&self) -> &str {
        "Get the current member's profile: first name, membership, goals, limitations, \
         preferred language, visits and what we know about them."
    }
    fn parameters(&self) -> Value {
        json!({"type":"object","properties":{},"additionalProperties":false})
    }
    async fn call(&self, ctx: &CallContext, _args: Value) -> Result<ToolOutput, ToolError> {
        let s = ctx.store();
        let m = s.member(ctx.scope(), ctx.gym(), ctx.member()).await?;
        let facts = s
            .list_facts(ctx.scope(), ctx.gym(), ctx.member(), page(10)?)
            .await?;
        Ok(ToolOutput::ok(json!({
            "first_name": m.first_name,
            "membership_type": m.membership_type,
            "membership_status": m.membership_status.as_str(),
            "membership_end_date": m.membership_end_date.map(|d| d.to_string()),
            "goals": m.goals,
            "limitations": m.limitations,
            "preferred_language": m.preferred_language.as_str(),
            "visit_count": m.visit_count,
            "facts": facts.items.iter().map(|f| f.note.as_str()).collect::<Vec<_>>(),
        })))
    }
}

/// `get_class_schedule`: classes of a day (today, tomorrow, a date or a weekday), optionally of
/// one type.
#[derive(Debug, Clone, Copy)]
pub struct GetClassSchedule;

fn schedule_day(
    ctx: &CallContext,
    args: &Value,
) -> Result<(Option<Date>, Option<Weekday>), ToolError> {
    if let Some(wd) = str_arg(args, "weekday") {
        let wd = Weekday::parse(wd)
            .ok_or_else(|| ToolError::InvalidArguments("weekday must be mon..sun".into()))?;
        return Ok((None, Some(wd)));
    }
    let today = ctx.today();
    let date = match str_arg(args, "day").unwrap_or("today") {
        "today" => today,
        "tomorrow" => today
            .next_day()
            .ok_or_else(|| ToolError::InvalidArguments("day out of range".into()))?,
        other => {
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            Date::parse(other, &fmt).map_err(|_| {
                ToolError::InvalidArguments("day must be today, tomorrow or YYYY-MM-DD".into())
            })?
        }
    };
    Ok((Some(date), None))
}

#[async_trait]
impl VoiceTool for GetClassSchedule {
    fn name(&self) -> &str {
        "get_class_schedule"
    }
    fn description(&self) -> &str {
        "Get the gym's classes for a day (today by default, tomorrow, a date YYYY-MM-DD or a \
         weekday), optionally only those whose name contains class_type (e.g. yoga)."
    }
    fn parameters(&self) -> Value {
        json!({"type":"object","additionalProperties":false,"properties":{
            "day":{"type":"string","maxLength":10,"description":"today, tomorrow or YYYY-MM-DD"},
            "weekday":{"type":"string","enum":["mon","tue","wed","thu","fri","sat","sun"]},
            "class_type":{"type":"string","maxLength":80,"description":"part of the class name"}}})
    }
    async fn call(&self, ctx: &CallContext, args: Value) -> Result<ToolOutput, ToolError> {
        if !ctx.settings().features.class_schedule {
            return Err(ToolError::Unavailable(
                "the class schedule is not shared by this gym".into(),
            ));
        }
        let (date, weekday) = schedule_day(ctx, &args)?;
        let all = ctx
            .store()
            .list_classes(ctx.scope(), ctx.gym(), None, page(200)?)
            .await?
            .items;
        let mut classes: Vec<_> = match (date, weekday) {
            (Some(d), _) => classes_on(&all, d),
            (None, Some(wd)) => all
                .iter()
                .filter(|c| c.recurring && c.weekday == Some(wd))
                .collect(),
            (None, None) => Vec::new(),
        };
        classes.sort_by(|a, b| a.start_time.cmp(&b.start_time));
        if let Some(t) = str_arg(&args, "class_type").filter(|t| !t.is_empty()) {
            let t = t.to_lowercase();
            classes.retain(|c| c.name.to_lowercase().contains(&t));
        }
        let day = match (date, weekday) {
            (Some(d), _) => format!("{d} ({})", weekday_of(d).as_str()),
            (None, Some(wd)) => format!("every {}", wd.as_str()),
            (None, None) => String::new(),
        };
        Ok(ToolOutput::ok(json!({
            "day": day,
            "classes": classes.iter().take(50).map(|c| json!({
                "name": c.name, "start_time": c.start_time, "duration_minutes": c.duration_minutes,
                "coach": c.coach, "room": c.room,
            })).collect::<Vec<_>>(),
        })))
    }
}

/// Adds `goal` to the member's goals (no duplicates; the oldest goes when the list is full).
async fn add_goal(ctx: &CallContext, goal: &str) -> Result<Vec<String>, ToolError> {
    let s = ctx.store();
    let m = s.member(ctx.scope(), ctx.gym(), ctx.member()).await?;
    let mut goals = m.goals;
    if !goals.iter().any(|g| g.eq_ignore_ascii_case(goal)) {
        goals.push(goal.to_owned());
    }
    while goals.len() > MAX_GOALS {
        goals.remove(0);
    }
    let patch = MemberPatch {
        goals: Some(goals),
        ..Default::default()
    }
    .validate()?;
    let m = s
        .update_member(ctx.scope(), &actor(), ctx.gym(), ctx.member(), patch)
        .await?;
    Ok(m.goals)
}

/// `log_member_goal`: records a goal the member stated.
#[derive(Debug, Clone, Copy)]
pub struct LogMemberGoal;

#[async_trait]
impl VoiceTool for LogMemberGoal {
    fn name(&self) -> &str {
        "log_member_goal"
    }
    fn description(&self) -> &str {
        "Record a fitness goal the member just stated (e.g. 'run a 10k in March')."
    }
    fn parameters(&self) -> Value {
        json!({"type":"object","additionalProperties":false,"required":["goal"],
            "properties":{"goal":{"type":"string","minLength":1,"maxLength":200}}})
    }
    async fn call(&self, ctx: &CallContext, args: Value) -> Result<ToolOutput, ToolError> {
        let goal = str_arg(&args, "goal").unwrap_or_default();
        let goals = add_goal(ctx, goal).await?;
        Ok(ToolOutput::ok(json!({"ok": true, "goals": goals})))
    }
}

/// Stores a note about the member written by the assistant.
async fn add_fact(ctx: &CallContext, note: String) -> Result<Value, ToolError> {
    let new = NewMemberFact {
        note,
        source: FactSource::Assistant,
    }
    .validate()?;
    let f = ctx
        .store()
        .add_fact(ctx.scope(), &actor(), ctx.gym(), ctx.member(), new)
        .await?;
    Ok(json!({"ok": true, "fact_id": f.id.to_string()}))
}

/// `log_interaction`: notes what the member asked or did, for the staff and later calls.
#[derive(Debug, Clone, Copy)]
pub struct LogInteraction;

#[async_trait]
impl VoiceTool for LogInteraction {
    fn name(&self) -> &str {
        "log_interaction"
    }
    fn description(&self) -> &str {
        "Log a notable interaction with the member (a request, a complaint, a milestone) in one \
         sentence."
    }
    fn parameters(&self) -> Value {
        json!({"type":"object","additionalProperties":false,"required":["summary"],
            "properties":{"summary":{"type":"string","minLength":1,"maxLength":480}}})
    }
    async fn call(&self, ctx: &CallContext, args: Value) -> Result<ToolOutput, ToolError> {
        let summary = str_arg(&args, "summary").unwrap_or_default();
        let r = add_fact(ctx, format!("Interaction: {summary}")).await?;
        Ok(ToolOutput::ok(r))
    }
}

/// `add_member_fact`: remembers something durable about the member.
#[derive(Debug, Clone, Copy)]
pub struct AddMemberFact;

#[async_trait]
impl VoiceTool for AddMemberFact {
    fn name(&self) -> &str {
        "add_member_fact"
    }
    fn description(&self) -> &str {
        "Remember a durable fact about the member for future conversations (e.g. 'prefers \
         morning classes'). Never store health details the member did not ask you to keep."
    }
    fn parameters(&self) -> Value {
        json!({"type":"object","additionalProperties":false,"required":["note"],
            "properties":{"note":{"type":"string","minLength":1,"maxLength":500}}})
    }
    async fn call(&self, ctx: &CallContext, args: Value) -> Result<ToolOutput, ToolError> {
        let note = str_arg(&args, "note").unwrap_or_default().to_owned();
        Ok(ToolOutput::ok(add_fact(ctx, note).await?))
    }
}

/// `update_member_preferences`: the member's language and goals.
#[derive(Debug, Clone, Copy)]
pub struct UpdatePreferences;

#[async_trait]
impl VoiceTool for UpdatePreferences {
    fn name(&self) -> &str {
        "update_member_preferences"
    }
    fn description(&self) -> &str {
        "Update the member's preferences: preferred language (fr or en) and/or the full list of \
         goals (replaces the current goals)."
    }
    fn parameters(&self) -> Value {
        json!({"type":"object","additionalProperties":false,"properties":{
            "language":{"type":"string","enum":["fr","en"]},
            "goals":{"type":"array","maxItems":MAX_GOALS,
                "items":{"type":"string","minLength":1,"maxLength":200}}}})
    }
    async fn call(&self, ctx: &CallContext, args: Value) -> Result<ToolOutput, ToolError> {
        let language = str_arg(&args, "language").and_then(Locale::parse);
        let goals: Option<Vec<String>> = args.get("goals").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
        if language.is_none() && goals.is_none() {
            return Err(ToolError::InvalidArguments(
                "give language and/or goals".into(),
            ));
        }
        let patch = MemberPatch {
            preferred_language: language,
            goals,
            ..Default::default()
        }
        .validate()?;
        let m = ctx
            .store()
            .update_member(ctx.scope(), &actor(), ctx.gym(), ctx.member(), patch)
            .await?;
        Ok(ToolOutput::ok(json!({
            "ok": true,
            "preferred_language": m.preferred_language.as_str(),
            "goals": m.goals,
        })))
    }
}

/// `hand_off_to_staff`: a follow-up task on the gym's dashboard.
#[derive(Debug, Clone, Copy)]
pub struct HandOffToStaff;

#[async_trait]
impl VoiceTool for HandOffToStaff {
    fn name(&self) -> &str {
        "hand_off_to_staff"
    }
    fn description(&self) -> &str {
        "Ask the gym's staff to follow up with the member (a question you cannot answer, a \
         complaint, a billing or medical matter). Say that someone will get back to them."
    }
    fn parameters(&self) -> Value {
        json!({"type":"object","additionalProperties":false,"required":["reason"],
            "properties":{"reason":{"type":"string","minLength":1,"maxLength":1000}}})
    }
    async fn call(&self, ctx: &CallContext, args: Value) -> Result<ToolOutput, ToolError> {
        let reason = str_arg(&args, "reason").unwrap_or_default().to_owned();
        let new = NewFollowUp {
            member_id: Some(ctx.member()),
            session_id: Some(ctx.session()),
            reason,
        }
        .validate()?;
        let f = ctx
            .store()
            .create_follow_up(ctx.scope(), &actor(), ctx.gym(), new)
            .await?;
        Ok(ToolOutput::ok(
            json!({"ok": true, "follow_up_id": f.id.to_string()}),
        ))
    }
}

/// `end_conversation`: the assistant hangs up (after saying goodbye).
#[derive(Debug, Clone, Copy)]
pub struct EndConversation;

#[async_trait]
impl VoiceTool for EndConversation {
    fn name(&self) -> &str {
        "end_conversation"
    }
    fn description(&self) -> &str {
        "End the conversation. Call it only after saying goodbye, when the member is done."
    }
    fn parameters(&self) -> Value {
        json!({"type":"object","additionalProperties":false,
            "properties":{"reason":{"type":"string","maxLength":200}}})
    }
    async fn call(&self, _ctx: &CallContext, _args: Value) -> Result<ToolOutput, ToolError> {
        Ok(ToolOutput {
            result: json!({"ok": true}),
            effect: Some(ToolEffect::EndCall),
        })
    }
}
