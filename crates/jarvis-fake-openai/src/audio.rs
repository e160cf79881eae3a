//! Live audio for the demo: G.711 μ-law (PCMU) both ways, an energy voice-activity detector
//! for the member's microphone and a synthetic "voice" (a soft melodic tone pattern) for the
//! assistant. Pure Rust, no codec library: PCMU is a per-sample table-free transform.

/// PCMU sample rate (RTP clock) in Hz.
pub const PCMU_RATE: u32 = 8000;
/// Samples in one 20 ms PCMU frame.
pub const PCMU_FRAME_SAMPLES: usize = 160;
/// μ-law byte of digital silence (sample 0).
pub const MULAW_SILENCE: u8 = 0xFF;

const BIAS: i32 = 0x84;
const CLIP: i32 = 32635;

/// Encodes one 16-bit linear sample as a G.711 μ-law byte.
pub fn mulaw_encode(sample: i16) -> u8 {
    let mut x = i32::from(sample);
    let sign = if x < 0 {
        x = -x;
        0x80
    } else {
        0
    };
    x = x.min(CLIP) + BIAS;
    // x is in 132..=32767: its top bit is bit 7..=14, which gives the segment (exponent).
    let exponent = (31 - x.leading_zeros() as i32 - 7).clamp(0, 7);
    let mantissa = (x >> (exponent + 3)) & 0x0F;
    // The clamp and mask above keep the value in 0..=0x7F, so the cast is lossless.
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Decodes one G.711 μ-law byte to a 16-bit linear sample.
pub fn mulaw_decode(byte: u8) -> i16 {
    let b = !byte;
    let exponent = i32::from((b >> 4) & 0x07);
    let mantissa = i32::from(b & 0x0F);
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    // At most 32124, which fits.
    let m = magnitude as i16;
    if b & 0x80 != 0 { -m } else { m }
}

/// Encodes a frame of linear samples.
pub fn mulaw_encode_frame(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|s| mulaw_encode(*s)).collect()
}

/// Decodes a PCMU payload.
pub fn mulaw_decode_frame(bytes: &[u8]) -> Vec<i16> {
    bytes.iter().map(|b| mulaw_decode(*b)).collect()
}

/// Root mean square of a frame, in 16-bit sample units (0 for an empty frame).
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|s| f64::from(*s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// What the detector saw in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// Speech began at `at_ms` of the stream (start of the first loud frame).
    SpeechStarted {
        /// Stream time in milliseconds.
        at_ms: u64,
    },
    /// Speech ended at `end_ms` (end of the last loud frame), `hangover` after it.
    SpeechStopped {
        /// When the utterance began.
        start_ms: u64,
        /// When the last loud frame ended.
        end_ms: u64,
    },
}

/// Energy voice-activity detector: a frame is speech when its RMS reaches `threshold`;
/// speech stops after `hangover_ms` without a loud frame, or is cut at `max_utterance_ms`
/// (a room that never goes quiet still gets answers).
#[derive(Debug, Clone)]
pub struct Vad {
    /// RMS (16-bit units) from which a frame counts as speech.
    pub threshold: f64,
    /// Quiet time that ends an utterance.
    pub hangover_ms: u64,
    /// Longest utterance before a forced stop.
    pub max_utterance_ms: u64,
    now_ms: u64,
    speech: Option<(u64, u64)>,
}

impl Default for Vad {
    /// Threshold about -40 dBFS, hangover 400 ms (shorter than the 480 ms gap between the
    /// 20 ms beeps of Chromium's fake microphone, so each beep is one short utterance), 15 s cap.
    fn default() -> Self {
        Vad::new(320.0, 400, 15_000)
    }
}

impl Vad {
    /// A detector with these settings.
    pub fn new(threshold: f64, hangover_ms: u64, max_utterance_ms: u64) -> Self {
        Vad {
            threshold,
            hangover_ms,
            max_utterance_ms,
            now_ms: 0,
            speech: None,
        }
    }

    /// Stream time consumed so far, in milliseconds.
    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Whether an utterance is in progress.
    pub fn in_speech(&self) -> bool {
        self.speech.is_some()
    }

    /// Feeds one frame of `rate` Hz samples; returns the transition it caused, if any.
    pub fn push(&mut self, samples: &[i16], rate: u32) -> Option<VadEvent> {
        let start = self.now_ms;
        let dur = (samples.len() as u64 * 1000) / u64::from(rate.max(1));
        self.now_ms += dur;
        let end = self.now_ms;
        let loud = rms(samples) >= self.threshold;
        match self.speech {
            None if loud => {
                self.speech = Some((start, end));
                Some(VadEvent::SpeechStarted { at_ms: start })
            }
            None => None,
            Some((s, last)) => {
                let last = if loud { end } else { last };
                if end.saturating_sub(last) >= self.hangover_ms
                    || end.saturating_sub(s) >= self.max_utterance_ms
                {
                    self.speech = None;
                    Some(VadEvent::SpeechStopped {
                        start_ms: s,
                        end_ms: last,
                    })
                } else {
                    self.speech = Some((s, last));
                    None
                }
            }
        }
    }

    /// Lets `ms` of stream time pass unheard (the assistant is talking) and forgets any
    /// utterance in progress.
    pub fn skip(&mut self, ms: u64) {
        self.now_ms += ms;
        self.speech = None;
    }
}

/// The assistant's "voice": syllables of a soft tone (pentatonic notes, smooth envelope,
/// a touch of second harmonic), so a listener clearly hears when the assistant speaks.
#[derive(Debug, Clone)]
pub struct ToneVoice {
    seed: u64,
    syllable: u64,
    pos: usize,
    len: usize,
    gap: usize,
    freq: f64,
    phase: f64,
}

const NOTES: [f64; 5] = [392.0, 440.0, 523.25, 587.33, 659.25];
const AMPLITUDE: f64 = 9000.0;

impl ToneVoice {
    /// A voice whose melody depends on `seed` (one per response, so replies differ).
    pub fn new(seed: u64) -> Self {
        let mut v = ToneVoice {
            seed,
            syllable: 0,
            pos: 0,
            len: 0,
            gap: 0,
            freq: NOTES[0],
            phase: 0.0,
        };
        v.next_syllable();
        v
    }

    fn next_syllable(&mut self) {
        // A small LCG: deterministic and plenty for a melody.
        self.seed = self
            .seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let r = (self.seed >> 33) as usize;
        self.freq = NOTES[r % NOTES.len()];
        // 140–260 ms of tone then 40–100 ms of quiet, like syllables.
        self.len = 1120 + (r / 7 % 4) * 240;
        self.gap = 320 + (r / 29 % 3) * 160;
        self.pos = 0;
        self.phase = 0.0;
        self.syllable += 1;
    }

    /// The next sample at 8 kHz.
    pub fn next_sample(&mut self) -> i16 {
        if self.pos >= self.len + self.gap {
            self.next_syllable();
        }
        let i = self.pos;
        self.pos += 1;
        if i >= self.len {
            return 0;
        }
        let env = (std::f64::consts::PI * i as f64 / self.len as f64).sin();
        // A slight upward glide makes it sound less like a test tone.
        let f = self.freq * (1.0 + 0.04 * i as f64 / self.len as f64);
        self.phase += 2.0 * std::f64::consts::PI * f / f64::from(PCMU_RATE);
        let s = self.phase.sin() + 0.25 * (2.0 * self.phase).sin();
        (AMPLITUDE * env * s / 1.25) as i16
    }

    /// The next 20 ms as PCMU.
    pub fn next_frame(&mut self) -> Vec<u8> {
        (0..PCMU_FRAME_SAMPLES)
            .map(|_| mulaw_encode(self.next_sample()))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn known_mulaw_values() {
        assert_eq!(mulaw_encode(0), 0xFF);
        assert_eq!(mulaw_decode(0xFF), 0);
        assert_eq!(mulaw_decode(0x7F), 0);
        assert_eq!(mulaw_decode(0x00), -32124);
        assert_eq!(mulaw_decode(0x80), 32124);
        assert_eq!(mulaw_encode(i16::MAX), 0x80);
        assert_eq!(mulaw_encode(i16::MIN), 0x00);
    }
}
