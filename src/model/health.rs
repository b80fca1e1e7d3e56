//! Health reports in the three shapes workers of this family answer with.
//!
//! Plain `{"status":"healthy",…}`, the `checks` form (and 503 when a check
//! fails), and the `{"ok":…,"data":{"status":…}}` envelope all read into one
//! [`HealthReport`]. An unhealthy answer is a report, not an error: the caller
//! asked how the server is, and it answered.

use serde::Serialize;
use serde_json::Value;

/// Overall health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Everything works.
    Healthy,
    /// Serving, with some part impaired.
    Degraded,
    /// Not serving properly.
    Unhealthy,
}

/// What `GET /health` said.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    /// Overall status.
    pub status: HealthStatus,
    /// HTTP status of the answer.
    pub http_status: u16,
    /// Service name, when given.
    pub service: Option<String>,
    /// Server version, when given.
    pub version: Option<String>,
    /// Server time, when given.
    pub timestamp: Option<String>,
    /// Individual checks (name → passing), when given.
    pub checks: Vec<(String, bool)>,
    /// The raw body.
    pub raw: Value,
}

impl HealthReport {
    /// Reads any of the three shapes. Returns `None` when the body is not one.
    pub fn from_body(http_status: u16, body: Value) -> Option<Self> {
        let obj = body.as_object()?;
        let (inner, envelope_ok) = match (obj.get("ok"), obj.get("data")) {
            (Some(ok), Some(data)) if data.is_object() => (data, ok.as_bool()),
            _ => (&body, None),
        };
        let text = |k: &str| inner.get(k).and_then(Value::as_str).map(str::to_owned);
        let checks: Vec<(String, bool)> = inner
            .get("checks")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_bool().unwrap_or(false)))
                    .collect()
            })
            .unwrap_or_default();
        let declared = text("status")?;
        let mut status = match declared.as_str() {
            "healthy" | "ok" => HealthStatus::Healthy,
            "degraded" => HealthStatus::Degraded,
            _ => HealthStatus::Unhealthy,
        };
        if status == HealthStatus::Healthy && checks.iter().any(|(_, ok)| !ok) {
            status = HealthStatus::Degraded;
        }
        if envelope_ok == Some(false) || http_status >= 500 {
            status = HealthStatus::Unhealthy;
        }
        Some(Self {
            status,
            http_status,
            service: text("service"),
            version: text("version"),
            timestamp: text("timestamp"),
            checks,
            raw: body,
        })
    }

    /// A report for a server that answered with an error status and no body.
    pub fn unhealthy(http_status: u16) -> Self {
        Self {
            status: HealthStatus::Unhealthy,
            http_status,
            service: None,
            version: None,
            timestamp: None,
            checks: Vec::new(),
            raw: Value::Null,
        }
    }

    /// Whether the server is healthy or degraded (still serving).
    pub fn is_serving(&self) -> bool {
        self.status != HealthStatus::Unhealthy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn three_shapes() {
        let plain =
            HealthReport::from_body(200, json!({"status":"healthy","service":"crane-context"}))
                .unwrap();
        assert_eq!(plain.status, HealthStatus::Healthy);
        assert_eq!(plain.service.as_deref(), Some("crane-context"));
        let checks = HealthReport::from_body(
            503,
            json!({"status":"unhealthy","checks":{"database":false,"cache":true},"version":"1.0.0"}),
        )
        .unwrap();
        assert_eq!(checks.status, HealthStatus::Unhealthy);
        assert_eq!(checks.version.as_deref(), Some("1.0.0"));
        let env =
            HealthReport::from_body(200, json!({"ok":true,"data":{"status":"degraded"}})).unwrap();
        assert_eq!(env.status, HealthStatus::Degraded);
        let failing_check =
            HealthReport::from_body(200, json!({"status":"healthy","checks":{"db":false}}))
                .unwrap();
        assert_eq!(failing_check.status, HealthStatus::Degraded);
        assert!(HealthReport::from_body(200, json!([1])).is_none());
    }
}
