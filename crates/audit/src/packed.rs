//! History's compact form for all but its newest records (see `MemoryEventLog`).
//!
//! A group of [`GROUP`] records becomes one `PackedGroup`: their JSON, concatenated and
//! compressed as one LZ4 block (records of one group are alike — same caller, key, region — so a
//! 1.2 KB Encrypt record takes ~100 bytes among its neighbours), and their summaries as indexes
//! into the group's distinct strings (an event id is the only string most records do not share).
//! Queries test the packed summaries in place; a group is decompressed only for the records a
//! query returns.

use std::sync::Arc;

use crate::history::{EventQuery, Searchable};
use crate::record::Resource;
use crate::recorder::StoredEvent;
use crate::summary::{Field, RecordSummary};

/// Records per packed group. Larger packs smaller (LZ4 finds more of each record in the ones
/// before it) but makes a reader of one record decompress more: 64 Encrypt records are ~75 KB
/// of JSON, ~25 µs to decompress, ~100 bytes a record packed (32: ~106, 256: ~90).
pub(crate) const GROUP: usize = 64;

/// A field a record does not have.
const ABSENT: u32 = u32::MAX;

/// Some records of history, packed.
pub(crate) struct PackedGroup {
    /// The records' JSON, one after another, as an LZ4 block after its length.
    body: Box<[u8]>,
    /// The strings of the records' summaries (a value consecutive records share is kept once).
    strings: Box<[Box<str>]>,
    /// Resources, as indexes into `strings`: account, type, ARN.
    resources: Box<[[u32; 3]]>,
    records: Box<[PackedRecord]>,
}

/// One record of a group.
struct PackedRecord {
    seq: u64,
    epoch_seconds: i64,
    /// Index into `strings` of each of `Field::ALL`, or `ABSENT`.
    fields: [u32; Field::ALL.len()],
    read_only: bool,
    /// Its resources: a range of the group's `resources`.
    resources: (u32, u32),
    /// Where its JSON ends in the decompressed text (it starts where the one before ends).
    json_end: u32,
}

/// Builds a group's string table. Records of a group mostly repeat the record before them field
/// for field, so a value is first compared with what the same field held last time; anything else
/// is added (a table may hold a string twice: it is never searched, only indexed). No hashing:
/// hashing each field's string was most of the cost of packing (perf).
struct Strings<'a> {
    list: Vec<Box<str>>,
    /// For each place a string is taken from, the value it held last and its index.
    last: Vec<Option<(&'a str, u32)>>,
}

impl<'a> Strings<'a> {
    fn new() -> Self {
        Strings { list: Vec::new(), last: Vec::new() }
    }

    /// The index of `s`, taken from place `place` (a field, or a resource's part).
    fn index(&mut self, place: usize, s: &'a str) -> u32 {
        if place >= self.last.len() {
            self.last.resize(place + 1, None);
        }
        match self.last[place] {
            Some((last, index)) if last == s => index,
            _ => {
                self.list.push(s.into());
                let index = (self.list.len() - 1) as u32;
                self.last[place] = Some((s, index));
                index
            }
        }
    }
}

/// Buffers reused from one packing to the next (a group's text is ~75 KB).
#[derive(Default)]
pub(crate) struct Scratch {
    text: Vec<u8>,
    block: Vec<u8>,
}

impl PackedGroup {
    /// Packs `events` (in history order).
    pub(crate) fn pack(events: &[Arc<StoredEvent>], scratch: &mut Scratch) -> PackedGroup {
        let mut strings = Strings::new();
        let mut resources = Vec::new();
        scratch.text.clear();
        let records = events
            .iter()
            .map(|e| {
                scratch.text.extend_from_slice(e.json.as_bytes());
                let first = resources.len() as u32;
                for (n, r) in e.summary.resources.iter().enumerate() {
                    let place = Field::ALL.len() + 3 * n;
                    resources.push([
                        strings.index(place, &r.account_id),
                        strings.index(place + 1, &r.resource_type),
                        strings.index(place + 2, &r.arn),
                    ]);
                }
                let mut fields = [ABSENT; Field::ALL.len()];
                for (place, field) in Field::ALL.into_iter().enumerate() {
                    if let Some(s) = e.summary.text(field) {
                        fields[place] = strings.index(place, s);
                    }
                }
                PackedRecord {
                    seq: e.seq,
                    epoch_seconds: e.epoch_seconds,
                    fields,
                    read_only: e.summary.read_only,
                    resources: (first, resources.len() as u32 - first),
                    json_end: scratch.text.len() as u32,
                }
            })
            .collect();
        // The block is made in the reused buffer and copied once at its exact size.
        let text = &scratch.text;
        scratch.block.clear();
        scratch.block.extend_from_slice(&(text.len() as u32).to_le_bytes());
        scratch.block.resize(4 + lz4_flex::block::get_maximum_output_size(text.len()), 0);
        let body: Box<[u8]> = match lz4_flex::block::compress_into(text, &mut scratch.block[4..]) {
            Ok(size) => scratch.block[..4 + size].into(),
            // Not expected (the output is sized for the worst case); the allocating form cannot fail.
            Err(_) => lz4_flex::block::compress_prepend_size(text).into(),
        };
        PackedGroup { body, strings: strings.list.into(), resources: resources.into(), records }
    }

    /// The sequence number of the group's newest record.
    pub(crate) fn last_seq(&self) -> u64 {
        self.records.last().map_or(0, |r| r.seq)
    }

    /// The sequence number of the record with this event id, if the group has it.
    pub(crate) fn seq_of(&self, event_id: &str) -> Option<u64> {
        (0..self.records.len()).rev().map(|i| self.view(i)).find(|v| v.text(Field::EventId) == Some(event_id)).map(|v| v.seq())
    }

    /// Appends to `out` the records that match `q`, in the order asked, until `out` holds `limit`.
    pub(crate) fn collect(&self, q: &EventQuery, newest_first: bool, limit: usize, out: &mut Vec<Arc<StoredEvent>>) {
        // A sequence range that misses the group skips it whole (`since=` pollers ask for the
        // few records after one they saw).
        let (first, last) = (self.records.first().map_or(0, |r| r.seq), self.last_seq());
        if q.after_seq.is_some_and(|s| s >= last) || q.before_seq.is_some_and(|s| s <= first) {
            return;
        }
        let order: Box<dyn Iterator<Item = usize>> =
            if newest_first { Box::new((0..self.records.len()).rev()) } else { Box::new(0..self.records.len()) };
        let mut text: Option<Vec<u8>> = None;
        for i in order {
            if out.len() >= limit {
                break;
            }
            if !q.holds_for(&self.view(i)) {
                continue;
            }
            if text.is_none() {
                match lz4_flex::block::decompress_size_prepended(&self.body) {
                    Ok(bytes) => text = Some(bytes),
                    Err(e) => {
                        // Only a bug can get here (the block was made by `pack` and never left memory).
                        tracing::error!(error = %e, first_seq = self.records[0].seq, "a packed history group does not decompress; its records skipped");
                        return;
                    }
                }
            }
            let text = text.as_deref().unwrap_or_default();
            let start = if i == 0 { 0 } else { self.records[i - 1].json_end as usize };
            let Some(json) = text.get(start..self.records[i].json_end as usize).and_then(|b| std::str::from_utf8(b).ok()) else {
                tracing::error!(seq = self.records[i].seq, "a packed history record is not where its group says; skipped");
                continue;
            };
            out.push(Arc::new(self.unpack(i, json.to_owned())));
        }
    }

    fn view(&self, i: usize) -> PackedView<'_> {
        PackedView { group: self, record: &self.records[i] }
    }

    fn string(&self, index: u32) -> Option<&str> {
        (index != ABSENT).then(|| &*self.strings[index as usize])
    }

    /// Record `i` whole again, with its JSON.
    fn unpack(&self, i: usize, json: String) -> StoredEvent {
        let view = self.view(i);
        let text = |field: Field| view.text(field).unwrap_or_default().to_owned();
        let optional = |field: Field| view.text(field).map(str::to_owned);
        let summary = RecordSummary {
            event_id: text(Field::EventId),
            event_name: text(Field::EventName).into(),
            event_source: text(Field::EventSource).into(),
            event_type: text(Field::EventType).into(),
            event_category: text(Field::EventCategory).into(),
            read_only: view.record.read_only,
            error_code: optional(Field::ErrorCode),
            aws_region: text(Field::AwsRegion),
            recipient_account_id: text(Field::RecipientAccountId),
            user_arn: optional(Field::UserArn),
            access_key_id: optional(Field::AccessKeyId),
            username: optional(Field::Username),
            resources: view
                .resources()
                .map(|[account, kind, arn]| Resource {
                    account_id: self.string(account).unwrap_or_default().to_owned(),
                    resource_type: self.string(kind).unwrap_or_default().to_owned().into(),
                    arn: self.string(arn).unwrap_or_default().to_owned(),
                })
                .collect(),
        };
        StoredEvent { seq: view.record.seq, epoch_seconds: view.record.epoch_seconds, summary, json }
    }
}

/// One packed record, as queries read it.
struct PackedView<'g> {
    group: &'g PackedGroup,
    record: &'g PackedRecord,
}

impl PackedView<'_> {
    fn resources(&self) -> impl Iterator<Item = [u32; 3]> + '_ {
        let (first, count) = self.record.resources;
        self.group.resources[first as usize..(first + count) as usize].iter().copied()
    }
}

impl Searchable for PackedView<'_> {
    fn seq(&self) -> u64 {
        self.record.seq
    }
    fn epoch_seconds(&self) -> i64 {
        self.record.epoch_seconds
    }
    fn text(&self, field: Field) -> Option<&str> {
        // `Field::ALL` lists the fields in declaration order, so a field's discriminant is its slot.
        self.group.string(self.record.fields[field as usize])
    }
    fn read_only(&self) -> bool {
        self.record.read_only
    }
    fn any_resource(&self, test: &mut dyn FnMut(&str, &str) -> bool) -> bool {
        self.resources().any(|[_, kind, arn]| test(self.group.string(kind).unwrap_or_default(), self.group.string(arn).unwrap_or_default()))
    }
}
