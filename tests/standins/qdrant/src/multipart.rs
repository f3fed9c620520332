//! Just enough of `multipart/form-data` (RFC 7578) to take the one file field of a snapshot upload.

/// The content of the part named `field` in a `multipart/form-data` body.
pub fn file_field(content_type: &str, body: &[u8], field: &str) -> Result<Vec<u8>, String> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .filter(|_| content_type.trim_start().starts_with("multipart/form-data"))
        .ok_or("expected a multipart/form-data body with a boundary")?;
    let delimiter = format!("--{boundary}");
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let rest_part = rest.strip_prefix(b"\r\n").unwrap_or(rest);
        let headers_end =
            find(rest_part, b"\r\n\r\n").ok_or("a multipart part has no header end")?;
        let headers = String::from_utf8_lossy(&rest_part[..headers_end]);
        let content = &rest_part[headers_end + 4..];
        let end = find(content, format!("\r\n{delimiter}").as_bytes())
            .ok_or("a multipart part is not closed by the boundary")?;
        if part_name(&headers).as_deref() == Some(field) {
            return Ok(content[..end].to_vec());
        }
        rest = &content[end + 2..];
    }
    Err(format!("the multipart body has no field named '{field}'"))
}

fn part_name(headers: &str) -> Option<String> {
    headers
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("name="))
        .map(|n| n.trim_matches('"').to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_named_file_part() {
        let body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nskip\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"snapshot\"; filename=\"a.snapshot\"\r\n\
Content-Type: application/octet-stream\r\n\r\n\x00\x01\r\nbinary\r\n--XyZ--\r\n";
        let bytes = file_field("multipart/form-data; boundary=XyZ", body, "snapshot").unwrap();
        assert_eq!(bytes, b"\x00\x01\r\nbinary");
        let err = file_field("multipart/form-data; boundary=XyZ", body, "missing").unwrap_err();
        assert!(err.contains("no field named 'missing'"), "{err}");
        assert!(file_field("application/json", body, "snapshot").is_err());
    }
}
