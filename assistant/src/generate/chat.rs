//! Chat messages and the prompt format. The template family comes from the GGUF
//! file's `tokenizer.chat_template`; ChatML (`<|im_start|>{role}\n{content}<|im_end|>\n`,
//! then `<|im_start|>assistant\n`) is the family both Hearth tiers use, and any
//! other template is a clear error rather than a silently wrong prompt.
//!
//! Prompts are encoded piece by piece exactly as Hugging Face tokenizes the
//! rendered template (the text between two control tags is one segment), but
//! message contents are encoded as plain text, so a document that contains
//! `<|im_end|>` cannot inject chat structure.
//!
//! **Context policy**: a prompt longer than its budget is cut from the *front of
//! the earliest non-system message*; a message that would be cut away entirely
//! is dropped and the next one is cut. System messages are never cut. Only when
//! the system messages and chat scaffolding alone exceed the budget is it an
//! error ([`AssistantError::ContextOverflow`]).

use crate::AssistantError;
use crate::generate::tokenizer::GgufTokenizer;
use serde::{Deserialize, Serialize};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions to the model (never cut to fit the context).
    System,
    /// The person asking.
    User,
    /// The model's own earlier replies.
    Assistant,
}

impl Role {
    /// The role's name in the prompt.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who wrote the message.
    pub role: Role,
    /// The message text, encoded as plain text (control tags in it are not special).
    pub content: String,
}

impl ChatMessage {
    /// A message by `role` with `content`.
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }

    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }
}

/// A family of chat templates Hearth can render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateFamily {
    /// `<|im_start|>role\ncontent<|im_end|>\n` (SmolLM2, Qwen2.5).
    ChatMl,
}

/// The chat format of a model, read from its GGUF metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatTemplate {
    family: TemplateFamily,
    default_system: Option<String>,
}

const IM_START: &str = "<|im_start|>";
const IM_END: &str = "<|im_end|>";

impl ChatTemplate {
    /// Recognises the family of a Jinja `tokenizer.chat_template`. The template's
    /// built-in system prompt (used when the conversation has none, as both
    /// SmolLM2's and Qwen2.5's templates do) is kept as [`Self::default_system`].
    pub fn from_jinja(template: &str) -> Result<Self, AssistantError> {
        if !template.contains(IM_START) || !template.contains(IM_END) {
            let head: String = template.chars().take(80).collect();
            return Err(AssistantError::ChatTemplate(format!(
                "unknown chat template family (only ChatML with <|im_start|>/<|im_end|> is supported); template begins {head:?}"
            )));
        }
        Ok(Self {
            family: TemplateFamily::ChatMl,
            default_system: default_system_prompt(template),
        })
    }

    /// ChatML without a default system prompt.
    pub fn chatml() -> Self {
        Self {
            family: TemplateFamily::ChatMl,
            default_system: None,
        }
    }

    /// The template family the model's prompts are rendered in.
    pub fn family(&self) -> TemplateFamily {
        self.family
    }

    /// The system prompt the template inserts when the conversation has none.
    pub fn default_system(&self) -> Option<&str> {
        self.default_system.as_deref()
    }

    /// The messages actually rendered: the default system prompt first when the
    /// conversation does not start with a system message.
    fn effective<'m>(&'m self, messages: &'m [ChatMessage]) -> Vec<(Role, &'m str)> {
        let mut out = Vec::with_capacity(messages.len() + 1);
        if let Some(system) = &self.default_system
            && messages.first().is_none_or(|m| m.role != Role::System)
        {
            out.push((Role::System, system.as_str()));
        }
        out.extend(messages.iter().map(|m| (m.role, m.content.as_str())));
        out
    }

    /// The prompt as text, ending with the opening of the assistant's turn.
    pub fn render(&self, messages: &[ChatMessage]) -> String {
        let mut out = String::new();
        for (role, content) in self.effective(messages) {
            out.push_str(&format!("{IM_START}{role}\n{content}{IM_END}\n"));
        }
        out.push_str(IM_START);
        out.push_str("assistant\n");
        out
    }

    /// The prompt as token ids, cut to at most `budget` tokens by the policy in
    /// the module docs. Returns the ids and how many content tokens were cut.
    pub fn encode(
        &self,
        tokenizer: &GgufTokenizer,
        messages: &[ChatMessage],
        budget: usize,
    ) -> Result<(Vec<u32>, usize), AssistantError> {
        if messages.is_empty() {
            return Err(AssistantError::InvalidParams(
                "a generation needs at least one message".into(),
            ));
        }
        let tag = |t: &str| {
            tokenizer.token_id(t).ok_or_else(|| {
                AssistantError::ChatTemplate(format!("the vocabulary has no {t} token"))
            })
        };
        let (start, end) = (tag(IM_START)?, tag(IM_END)?);
        let newline = tokenizer.encode_plain("\n")?;
        let opener = tokenizer.encode_plain("assistant\n")?;

        let mut turns: Vec<(Role, String)> = self
            .effective(messages)
            .into_iter()
            .map(|(r, c)| (r, c.to_owned()))
            .collect();
        let mut encoded: Vec<Vec<u32>> = turns
            .iter()
            .map(|(role, content)| tokenizer.encode_plain(&format!("{role}\n{content}")))
            .collect::<Result<_, _>>()?;
        let scaffold = 2 + newline.len();
        let total = |enc: &[Vec<u32>]| {
            enc.iter().map(|e| e.len() + scaffold).sum::<usize>() + 1 + opener.len()
        };

        let mut cut = 0usize;
        while total(&encoded) > budget {
            let excess = total(&encoded) - budget;
            let Some(i) = turns.iter().position(|(r, _)| *r != Role::System) else {
                return Err(AssistantError::ContextOverflow {
                    prompt_tokens: total(&encoded),
                    budget,
                });
            };
            let content_ids = tokenizer.encode_plain(&turns[i].1)?;
            let shorter = if content_ids.len() > excess {
                // Re-encoding a cut text can differ by a token at the seam; the
                // loop re-checks the total and cuts again if needed.
                let text = tokenizer.decode(&content_ids[excess..], false)?;
                let text = text.trim_start_matches('\u{FFFD}').to_owned();
                let segment = tokenizer.encode_plain(&format!("{}\n{text}", turns[i].0))?;
                (segment.len() < encoded[i].len()).then_some((text, segment))
            } else {
                None
            };
            match shorter {
                Some((text, segment)) => {
                    cut += encoded[i].len() - segment.len();
                    turns[i].1 = text;
                    encoded[i] = segment;
                }
                // Nothing useful would remain (or cutting made no progress): drop it.
                None => {
                    cut += content_ids.len();
                    turns.remove(i);
                    encoded.remove(i);
                }
            }
        }

        let mut ids = Vec::with_capacity(total(&encoded));
        for segment in &encoded {
            ids.push(start);
            ids.extend_from_slice(segment);
            ids.push(end);
            ids.extend_from_slice(&newline);
        }
        ids.push(start);
        ids.extend_from_slice(&opener);
        Ok((ids, cut))
    }
}

/// The literal system prompt in a ChatML template, e.g. SmolLM2's
/// `'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, …<|im_end|>\n'`:
/// the first `<|im_start|>system\n…<|im_end|>` whose body is plain text (no quote,
/// no Jinja expression, no concatenation).
fn default_system_prompt(template: &str) -> Option<String> {
    let marker = format!("{IM_START}system");
    let mut rest = template;
    while let Some(at) = rest.find(&marker) {
        rest = &rest[at + marker.len()..];
        let body = rest
            .strip_prefix("\\n")
            .or_else(|| rest.strip_prefix('\n'))?;
        let Some(end) = body.find(IM_END) else {
            break;
        };
        let text = &body[..end];
        let plain =
            !text.is_empty() && !text.contains(['\'', '"', '{', '}', '+']) && !text.contains("\\n");
        if plain {
            return Some(text.to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOL: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
    const QWEN_PART: &str = "{%- if messages[0]['role'] == 'system' %}\n        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n    {%- endif %}";

    #[test]
    fn default_system_prompts_are_found() {
        let smol = ChatTemplate::from_jinja(SMOL).unwrap();
        assert_eq!(
            smol.default_system(),
            Some("You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        );
        let qwen = ChatTemplate::from_jinja(QWEN_PART).unwrap();
        assert_eq!(
            qwen.default_system(),
            Some("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
        );
    }

    #[test]
    fn unknown_templates_are_errors() {
        let llama3 = "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>' }}";
        let err = ChatTemplate::from_jinja(llama3).unwrap_err().to_string();
        assert!(err.contains("unknown chat template"), "{err}");
    }

    #[test]
    fn render_is_chatml_with_the_default_system_prompt_only_when_missing() {
        let t = ChatTemplate::from_jinja(SMOL).unwrap();
        let user = [ChatMessage::user("hi")];
        assert_eq!(
            t.render(&user),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
        let with_system = [ChatMessage::system("Be brief."), ChatMessage::user("hi")];
        assert_eq!(
            t.render(&with_system),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(Role::Assistant.to_string(), "assistant");
    }
}
