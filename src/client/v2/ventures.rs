//! `GET /ventures` (v2 only; a v1 server answers 404 → [`Error::NotFound`]).

use crate::model::v2::{Venture, VentureList};
use crate::Client;
use crate::Error;

impl Client {
    /// `GET /ventures`: every venture the service knows, in its order.
    pub async fn ventures(&self) -> Result<Vec<Venture>, Error> {
        let r: VentureList = self.read("/ventures", &[]).await?;
        Ok(r.ventures)
    }
}
