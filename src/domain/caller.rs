//! Who is calling: the user a verified token names, and whether they are an
//! admin or staff (ushers, at the door).

use super::Error;

/// The authenticated caller of a request. No user id is ever taken from a
/// request body: this is the only source of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
    pub is_admin: bool,
    pub is_staff: bool,
}

impl Caller {
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
