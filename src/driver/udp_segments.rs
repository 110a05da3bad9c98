//! UDP segmentation offload (GSO, `UDP_SEGMENT`): many datagrams handed to the kernel as one.
//!
//! A run of datagrams of one length `L` (the last may be shorter) goes down the stack as a
//! single send with a `UDP_SEGMENT = L` control message; the kernel cuts it into datagrams of
//! `L` octets at the last moment (in the NIC, or just before the device / socket that receives
//! it), each with its own UDP and IP header. The collector receives exactly the datagrams it
//! would have received one by one; what is saved is the per-datagram trip through routing,
//! netfilter and the device queue: on loopback about 4× less kernel time per datagram.
//!
//! IPFIX messages of the default format have one length when full (every record has the same
//! size), so bulk export forms long runs; messages of varying lengths form short ones, and a
//! datagram that starts a run of one goes as a plain datagram.
//!
//! Linux ≥ 4.18. A socket whose sends the kernel will not segment (no checksum offload on the
//! route, IPsec, a segment longer than the path MTU, an old kernel) reports it as an error of
//! the segmented send, which is then sent again datagram by datagram (`UdpExport`).
#![allow(unsafe_code)] // building the `UDP_SEGMENT` control message, in `set_segment_size` only.

/// Datagrams per segmented send: the kernel's `UDP_MAX_SEGMENTS` (64 until Linux 6.0; 128 since).
pub const MAX_SEGMENTS: usize = 64;

/// Octets per segmented send: one UDP payload at most (65 535 − 8 UDP − 20 IPv4 header octets;
/// IPv6 allows 20 more, unused).
pub const MAX_RUN_OCTETS: usize = 65_507;

/// How many of `lengths` (from the first) one segmented send can carry: all of the first one's
/// length `L`, then at most one shorter one to end the run, within [`MAX_SEGMENTS`] and
/// [`MAX_RUN_OCTETS`]. At least 1 for a non-empty slice; a run of 1 is a plain datagram.
pub fn run_len(lengths: impl IntoIterator<Item = usize>) -> usize {
    let mut lengths = lengths.into_iter();
    let Some(segment) = lengths.next() else {
        return 0;
    };
    let (mut count, mut octets) = (1, segment);
    for len in lengths {
        if count == MAX_SEGMENTS || len > segment || octets + len > MAX_RUN_OCTETS {
            break;
        }
        count += 1;
        octets += len;
        if len < segment {
            break; // only the last segment may be shorter
        }
    }
    count
}

/// Room for one `cmsghdr` carrying a `u16` (`CMSG_SPACE(2)` = 24 on 64-bit Linux), aligned
/// for `cmsghdr`.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct SegmentControl([u8; 32]);

impl SegmentControl {
    pub const EMPTY: SegmentControl = SegmentControl([0; 32]);
}

/// Attaches `control` to `msg` as its control data, holding `UDP_SEGMENT = segment_size`.
/// `control` must outlive every use of `msg` (the kernel reads it during the send).
pub fn set_segment_size(msg: &mut libc::msghdr, control: &mut SegmentControl, segment_size: u16) {
    const DATA: u32 = std::mem::size_of::<u16>() as u32;
    // SAFETY: CMSG_SPACE/CMSG_LEN are arithmetic. `control` is 32 octets aligned to 8, more
    // than CMSG_SPACE(2) (24), so CMSG_FIRSTHDR returns a non-null, aligned pointer into it
    // (msg_controllen ≥ size_of::<cmsghdr>()), and its header and two data octets lie inside
    // `control`. The data octets are written unaligned.
    unsafe {
        msg.msg_control = control.0.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(DATA) as _;
        let c = libc::CMSG_FIRSTHDR(msg);
        (*c).cmsg_level = libc::SOL_UDP;
        (*c).cmsg_type = libc::UDP_SEGMENT;
        (*c).cmsg_len = libc::CMSG_LEN(DATA) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<u16>(), segment_size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lengths: &[usize]) -> usize {
        run_len(lengths.iter().copied())
    }

    #[test]
    fn a_run_is_equal_lengths_ended_by_at_most_one_shorter() {
        assert_eq!(run(&[]), 0);
        assert_eq!(run(&[1400]), 1);
        assert_eq!(run(&[1400, 1400, 1400]), 3);
        assert_eq!(
            run(&[1400, 1400, 900, 900]),
            3,
            "the shorter one ends the run"
        );
        assert_eq!(run(&[1400, 1500, 1400]), 1, "a longer one cannot follow");
        assert_eq!(run(&[900, 1400]), 1);
    }

    #[test]
    fn a_run_stops_at_the_kernels_limits() {
        assert_eq!(run(&[1000; 100]), MAX_SEGMENTS);
        // 16 × 3900 = 62 400; a 17th would pass 65 507.
        assert_eq!(run(&[3900; 20]), 16);
        assert_eq!(run(&[65_507, 65_507]), 1);
        assert_eq!(run(&[30_000, 30_000, 5_507, 1]), 3, "65 507 octets exactly");
    }
}
