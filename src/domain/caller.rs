//! Who is calling: the user a verified token names, whether they are an
//! admin or staff (ushers, at the door), and the request id of the call,
//! which the audit trail keeps.

use super::Error;

/// The authenticated caller of a request. No user id is ever taken from a
/// request body: this is the only source of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub is_admin: bool,
    pub is_staff: bool,
    /// The call's `x-request-id`; empty outside a call.
    pub request_id: String,
}

impl Caller {
    /// An operator acting on the server itself, not over the API (such as
    /// `cinema demo`): an admin named `name`, with no request id.
    pub fn operator(name: &str) -> Self {
        Self {
            user_id: name.to_owned(),
            is_admin: true,
            is_staff: false,
            request_id: String::new(),
        }
    }

    /// Fails with PERMISSION_DENIED unless the caller is an admin.
    pub fn require_admin(&self) -> Result<(), Error> {
        if self.is_admin {
            Ok(())
        } else {
            Err(Error::PermissionDenied("this call needs the admin role"))
        }
    }

    /// Fails with PERMISSION_DENIED unless the caller is staff or an admin.
    pub fn require_staff(&self) -> Result<(), Error> {
        if self.is_staff || self.is_admin {
            Ok(())
        } else {
            Err(Error::PermissionDenied(
                "this call needs the staff or admin role",
            ))
        }
    }

    /// Fails with PERMISSION_DENIED unless the caller made this reservation.
    pub fn require_owner(&self, user_id: &str) -> Result<(), Error> {
        if self.user_id == user_id {
            Ok(())
        } else {
            Err(Error::PermissionDenied(
                "this reservation belongs to another user",
            ))
        }
    }
}
