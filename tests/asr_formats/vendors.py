"""Vendor messages for the format tests, built with the vendors' own SDK types.

* Deepgram: ``deepgram-sdk`` pydantic models (``ListenV1Results``, ``ListenV1Response``).
* Google: ``google-cloud-speech`` protobuf types, serialised with ``MessageToDict``
  (v2 ``StreamingRecognizeResponse``, v1 ``LongRunningRecognizeResponse``).
* AssemblyAI: ``assemblyai`` models (v3 ``TurnEvent``, ``TranscriptResponse``); the v2
  real-time messages are no longer in the SDK and follow the published schema.
* Amazon Transcribe streaming: JSON per the published schema, checked by the
  ``amazon-transcribe`` SDK's own event parser (``_check_transcribe``); Call Analytics
  and batch output follow the published API reference and output examples.

Every call says ``yes my card number is 4111 1111 1111 1111 and my email is john dot
smith at example dot com thanks``: the card is four word items, the email seven.
"""

from __future__ import annotations

import copy
import json
from typing import Any

CALL = ["yes", "my", "card", "number", "is", "4111", "1111", "1111", "1111", "and", "my",
    "email", "is", "john", "dot", "smith", "at", "example", "dot", "com", "thanks"]
CARD = ["4111", "1111", "1111", "1111"]
EMAIL = ["john", "dot", "smith", "at", "example", "dot", "com"]
PLAIN = ["yes", "thanks", "I", "will", "call", "back", "later", "about", "the", "delivery"]


def times(i: int) -> tuple[float, float]:
    """Start and end of word ``i`` in seconds."""
    return round(1.0 + i * 0.4, 2), round(1.3 + i * 0.4, 2)


def _conf(i: int) -> float:
    return round(0.99 - (i % 7) * 0.03, 2)


# -- Deepgram -----------------------------------------------------------------------------
def deepgram_live(words: list[str], *, is_final: bool) -> dict[str, Any]:
    from deepgram.listen.v1.types.listen_v1results import ListenV1Results
    ws = [{"word": w, "start": times(i)[0], "end": times(i)[1], "confidence": _conf(i),
           "punctuated_word": w.capitalize() if i == 0 else w, "speaker": 1}
          for i, w in enumerate(words)]
    text = " ".join(w["punctuated_word"] for w in ws)
    msg = ListenV1Results.model_validate({
        "type": "Results", "channel_index": [0, 1], "duration": 0.4 * len(words),
        "start": 1.0, "is_final": is_final, "speech_final": is_final,
        "channel": {"alternatives": [{"transcript": text, "confidence": 0.97,
                                      "words": ws}]},
        "metadata": {"request_id": "5d3c9b6e-0000-4000-8000-000000000001",
                     "model_info": {"name": "general-nova-3", "version": "2024-12-20",
                                    "arch": "nova-3"},
                     "model_uuid": "1dbdfb4d-85b2-4659-9b9c-000000000000"},
        "from_finalize": False})
    return json.loads(msg.model_dump_json(by_alias=True, exclude_unset=True))


def deepgram_prerecorded(words: list[str]) -> dict[str, Any]:
    from deepgram.types.listen_v1response import ListenV1Response
    ws = [{"word": w, "start": times(i)[0], "end": times(i)[1], "confidence": _conf(i),
           "punctuated_word": w, "speaker": 0, "speaker_confidence": 0.8}
          for i, w in enumerate(words)]
    text = " ".join(words)
    msg = ListenV1Response.model_validate({
        "metadata": {"request_id": "a7b0-0001", "created": "2026-12-06T10:00:00.000Z",
                     "duration": 12.5, "channels": 1, "models": ["1dbdfb4d"],
                     "model_info": {"1dbdfb4d": {"name": "general-nova-3",
                                                 "version": "2024-12-20", "arch": "nova-3"}},
                     "sha256": "00ff"},
        "results": {
            "channels": [{"alternatives": [{
                "transcript": text, "confidence": 0.98, "words": ws,
                "paragraphs": {"transcript": "\nSpeaker 0: " + text,
                               "paragraphs": [{"sentences": [{"text": text, "start": 1.0,
                                                              "end": 9.0}],
                                               "num_words": len(words), "start": 1.0,
                                               "end": 9.0, "speaker": 0}]}}]}],
            "utterances": [{"start": 1.0, "end": 9.0, "confidence": 0.98, "channel": 0,
                            "transcript": text, "words": ws, "speaker": 0,
                            "id": "c1a2-0001"}]}})
    return json.loads(msg.model_dump_json(by_alias=True, exclude_unset=True))


# -- Google -------------------------------------------------------------------------------
def _duration(seconds: float) -> Any:
    from google.protobuf.duration_pb2 import Duration
    d = Duration()
    d.FromNanoseconds(round(seconds * 1e9))
    return d


def google_stream(words: list[str], *, is_final: bool) -> dict[str, Any]:
    from google.cloud import speech_v2
    from google.protobuf.json_format import MessageToDict
    msg = speech_v2.StreamingRecognizeResponse(
        results=[speech_v2.StreamingRecognitionResult(
            alternatives=[speech_v2.SpeechRecognitionAlternative(
                transcript=" ".join(words), confidence=0.93,
                words=[speech_v2.WordInfo(start_offset=_duration(times(i)[0]),
                                          end_offset=_duration(times(i)[1]), word=w,
                                          confidence=_conf(i))
                       for i, w in enumerate(words)])],
            is_final=is_final, stability=0.0 if is_final else 0.9,
            result_end_offset=_duration(times(len(words))[0]), channel_tag=1,
            language_code="en-us")],
        speech_event_type=speech_v2.StreamingRecognizeResponse.SpeechEventType(0))
    return MessageToDict(type(msg).pb(msg))


def google_batch(words: list[str]) -> dict[str, Any]:
    from google.cloud import speech_v1
    from google.protobuf.json_format import MessageToDict
    msg = speech_v1.LongRunningRecognizeResponse(
        results=[speech_v1.SpeechRecognitionResult(
            alternatives=[speech_v1.SpeechRecognitionAlternative(
                transcript=" ".join(words), confidence=0.93,
                words=[speech_v1.WordInfo(start_time=_duration(times(i)[0]),
                                          end_time=_duration(times(i)[1]), word=w,
                                          confidence=_conf(i), speaker_tag=1)
                       for i, w in enumerate(words)])],
            channel_tag=1, result_end_time=_duration(9.0), language_code="en-us")],
        total_billed_time=_duration(15.0))
    return MessageToDict(type(msg).pb(msg))


# -- AssemblyAI ---------------------------------------------------------------------------
def assemblyai_turn(words: list[str], *, final_words: int, end_of_turn: bool,
                    order: int = 0) -> dict[str, Any]:
    from assemblyai.streaming.v3 import TurnEvent
    ws = [{"start": int(times(i)[0] * 1000), "end": int(times(i)[1] * 1000), "text": w,
           "confidence": _conf(i), "word_is_final": i < final_words}
          for i, w in enumerate(words)]
    msg = TurnEvent.model_validate({
        "type": "Turn", "turn_order": order, "turn_is_formatted": False,
        "end_of_turn": end_of_turn, "transcript": " ".join(words[:final_words]),
        "end_of_turn_confidence": 0.91 if end_of_turn else 0.02, "words": ws})
    doc: dict[str, Any] = json.loads(msg.model_dump_json(exclude_unset=True))
    doc["utterance"] = doc["transcript"] if end_of_turn else ""  # newer field, not modelled
    return doc


def assemblyai_v2(words: list[str], *, final: bool) -> dict[str, Any]:
    return {"message_type": "FinalTranscript" if final else "PartialTranscript",
            "audio_start": 1000, "audio_end": int(times(len(words))[0] * 1000),
            "confidence": 0.95, "text": " ".join(words),
            "words": [{"start": int(times(i)[0] * 1000), "end": int(times(i)[1] * 1000),
                       "confidence": _conf(i), "text": w} for i, w in enumerate(words)],
            "created": "2026-12-06T10:00:01.123456", **(
                {"punctuated": False, "text_formatted": False} if final else {})}


def assemblyai_postcall(words: list[str]) -> dict[str, Any]:
    from assemblyai.types import TranscriptResponse
    ws = [{"start": int(times(i)[0] * 1000), "end": int(times(i)[1] * 1000), "text": w,
           "confidence": _conf(i), "speaker": "A"} for i, w in enumerate(words)]
    text = " ".join(words)
    msg = TranscriptResponse.parse_obj({
        "id": "6d1f0d1c-0000-4000-8000-00000000abcd", "status": "completed",
        "audio_url": "https://media.test/audio/call-7.wav", "language_code": "en_us",
        "text": text, "words": ws, "confidence": 0.95, "audio_duration": 12,
        "speaker_labels": True,
        "utterances": [{"speaker": "A", "text": text, "start": ws[0]["start"],
                        "end": ws[-1]["end"], "confidence": 0.95, "words": ws}]})
    return json.loads(msg.json(exclude_unset=True))


# -- Amazon Transcribe --------------------------------------------------------------------
def _items(words: list[str], *, stable: int | None = None) -> list[dict[str, Any]]:
    return [{"StartTime": times(i)[0], "EndTime": times(i)[1], "Type": "pronunciation",
             "Content": w, "VocabularyFilterMatch": False, "Confidence": _conf(i),
             **({"Stable": i < stable} if stable is not None else {})}
            for i, w in enumerate(words)]


def transcribe_stream(words: list[str], *, partial: bool,
                      result_id: str = "8c3b1f6e-6b6d-4b8a-9b0e-1c1d0e0f0a0b") -> dict[str, Any]:
    items = _items(words, stable=len(words) - 2 if partial else len(words))
    doc = {"Transcript": {"Results": [{
        "ResultId": result_id, "StartTime": 1.0, "EndTime": times(len(words))[0],
        "IsPartial": partial, "ChannelId": "ch_0",
        "Alternatives": [{"Transcript": " ".join(words), "Items": items}]}]}}
    _check_transcribe(doc)
    return doc


def _check_transcribe(doc: dict[str, Any]) -> None:
    """The SDK's own parser reads the event as we mean it."""
    from amazon_transcribe.deserialize import TranscribeStreamingEventParser

    class Raw:
        headers = {":message-type": "event", ":event-type": "TranscriptEvent"}
        payload = json.dumps(doc).encode()
    event = TranscribeStreamingEventParser().parse(Raw())
    result = event.transcript.results[0]  # type: ignore[union-attr]
    raw = doc["Transcript"]["Results"][0]
    assert result.result_id == raw["ResultId"] and result.is_partial == raw["IsPartial"]
    alt = result.alternatives[0]
    assert alt.transcript == raw["Alternatives"][0]["Transcript"]
    assert [i.content for i in alt.items] == [i["Content"] for i in
                                              raw["Alternatives"][0]["Items"]]


def call_analytics_event(words: list[str], *, partial: bool) -> dict[str, Any]:
    items = [{"BeginOffsetMillis": int(times(i)[0] * 1000),
              "EndOffsetMillis": int(times(i)[1] * 1000), "Content": w,
              "Confidence": _conf(i), "Type": "pronunciation",
              "VocabularyFilterMatch": False, "Stable": not partial or i < len(words) - 2}
             for i, w in enumerate(words)]
    return {"UtteranceEvent": {
        "UtteranceId": "0f5c7b1d-58a1-4c9d-8a8e-0a9e6c7d1e21", "ParticipantRole": "CUSTOMER",
        "IsPartial": partial, "Transcript": " ".join(words),
        "BeginOffsetMillis": 1000, "EndOffsetMillis": int(times(len(words))[0] * 1000),
        "Items": items, "Entities": [], "Sentiment": "NEUTRAL",
        "IssuesDetected": [], "LanguageCode": "en-US"}}


def transcribe_batch(words: list[str]) -> dict[str, Any]:
    items = [{"id": i, "start_time": f"{times(i)[0]:.2f}", "end_time": f"{times(i)[1]:.2f}",
              "speaker_label": "spk_0", "type": "pronunciation",
              "alternatives": [{"confidence": f"{_conf(i)}", "content": w}]}
             for i, w in enumerate(words)]
    text = " ".join(words)
    return {"jobName": "call-7", "accountId": "210987654320", "status": "COMPLETED",
            "results": {"transcripts": [{"transcript": text}], "items": items,
                        "audio_segments": [{"id": 0, "transcript": text,
                                            "start_time": "1.00", "end_time": "9.00",
                                            "speaker_label": "spk_0",
                                            "items": list(range(len(words)))}]}}


def call_analytics_postcall(words: list[str]) -> dict[str, Any]:
    return {"JobName": "call-7", "AccountId": "210987654320", "JobStatus": "COMPLETED",
            "LanguageCode": "en-US", "Channel": "VOICE",
            "Transcript": [{"Id": "7c1e0f3a", "ParticipantRole": "AGENT",
                            "Content": "can I have your card number please",
                            "BeginOffsetMillis": 100, "EndOffsetMillis": 900,
                            "Sentiment": "NEUTRAL", "LoudnessScores": [70.1, 71.2]},
                           {"Id": "9a2d4b6c", "ParticipantRole": "CUSTOMER",
                            "Content": " ".join(words), "BeginOffsetMillis": 1000,
                            "EndOffsetMillis": 9000, "Sentiment": "POSITIVE",
                            "LoudnessScores": [66.0, 68.5]}],
            "Categories": {"MatchedCategories": [], "MatchedDetails": {}}}


# -- Fields that point into a transcript ----------------------------------------------------
def char_range(words: list[str], first: int, last: int) -> tuple[int, int]:
    """``[begin, end)`` in ``" ".join(words)`` of words ``first`` to ``last``."""
    begin = len(" ".join(words[:first])) + (1 if first else 0)
    return begin, begin + len(" ".join(words[first:last + 1]))


def _offsets(begin: int, end: int) -> dict[str, Any]:
    return {"CharacterOffsets": {"Begin": begin, "End": end}}


def call_analytics_insights(words: list[str]) -> dict[str, Any]:
    """Post-call Call Analytics whose turns carry issues, action items and outcomes
    (character offsets into ``Content``, per the published output reference): the
    customer's issue spans "card number is <card>", an action item starts inside the
    card ("1111 1111 and my"), an outcome has offsets past the text."""
    doc = call_analytics_postcall(words)
    doc["Transcript"][0]["IssuesDetected"] = [_offsets(0, 3)]  # "can", agent turn
    doc["Transcript"][1]["IssuesDetected"] = [_offsets(*char_range(words, 2, 8))]
    doc["Transcript"][1]["ActionItemsDetected"] = [_offsets(*char_range(words, 7, 10))]
    doc["Transcript"][1]["OutcomesDetected"] = [_offsets(5, 9999)]
    doc["ConversationCharacteristics"] = {"TotalConversationDurationMillis": 9000,
                                          "Sentiment": {"OverallSentiment": {"AGENT": 0.0,
                                                                             "CUSTOMER": 2.1}}}
    return doc


def deepgram_intelligence(words: list[str]) -> dict[str, Any]:
    """A pre-recorded answer with entities, summaries, topics, intents and sentiments
    (``start_word`` inclusive, ``end_word`` exclusive), checked by the SDK's types: the
    card is words 5-8, the email 13-19."""
    from deepgram.types.listen_v1response import ListenV1Response
    doc = deepgram_prerecorded(words)
    alt = doc["results"]["channels"][0]["alternatives"][0]
    n = len(words)
    alt["entities"] = [
        {"label": "CARDINAL", "value": " ".join(words[5:9]), "raw_value": " ".join(
            words[5:9]), "confidence": 0.93, "start_word": 5, "end_word": 9},
        {"label": "EMAIL_ADDRESS",
         "value": "john.smith@example.com" if "john" in words else " ".join(words[13:20]),
         "raw_value": " ".join(words[13:20]), "confidence": 0.9, "start_word": 13,
         "end_word": 20}]
    alt["summaries"] = [{"summary": "The caller gave a card and an email address.",
                         "start_word": 0, "end_word": n}]
    alt["topics"] = [{"text": " ".join(words[2:9]), "start_word": 2, "end_word": 9,
                      "topics": ["payment"]}]
    doc["results"]["topics"] = {"segments": [
        {"text": " ".join(words[2:9]), "start_word": 2, "end_word": 9,
         "topics": [{"topic": "payment", "confidence_score": 0.81}]}]}
    doc["results"]["intents"] = {"segments": [
        {"text": " ".join(words[9:]), "start_word": 9, "end_word": n,
         "intents": [{"intent": "Provide contact details", "confidence_score": 0.7}]}]}
    doc["results"]["sentiments"] = {"segments": [
        {"text": " ".join(words), "start_word": 0, "end_word": n, "sentiment": "neutral",
         "sentiment_score": 0.05}], "average": {"sentiment": "neutral",
                                                "sentiment_score": 0.05}}
    msg = ListenV1Response.model_validate(doc)
    return json.loads(msg.model_dump_json(by_alias=True, exclude_unset=True))


def with_alternative(doc: dict[str, Any], alts: tuple[Any, ...], other: dict[str, Any]
                     ) -> dict[str, Any]:
    """``doc`` with the first alternative of ``other`` (same shape) added after its own."""
    from redact_gw.jsonpaths import get_at
    get_at(doc, alts).append(get_at(other, alts)[0])
    return doc


def assemblyai_insights(words: list[str]) -> dict[str, Any]:
    """A post-call transcript with every audio-intelligence result, checked by the
    SDK's ``TranscriptResponse``: times in ms and text, no character or word index;
    plus ``unredacted_*``, the copy AssemblyAI's own PII redaction keeps."""
    from assemblyai.types import TranscriptResponse
    doc = assemblyai_postcall(words)
    ws = doc["words"]
    start, end = ws[0]["start"], ws[-1]["end"]
    card = " ".join(words[5:9])
    doc.update({
        "unredacted_text": doc["text"], "unredacted_words": copy.deepcopy(ws),
        "unredacted_utterances": copy.deepcopy(doc["utterances"]),
        "summary": "- The caller read out a card number.",
        "entities": [{"entity_type": "credit_card_number", "text": card,
                      "start": ws[5]["start"], "end": ws[8]["end"]}],
        "auto_highlights_result": {"status": "success", "results": [
            {"count": 1, "rank": 0.08, "text": f"card number is {card}",
             "timestamps": [{"start": ws[2]["start"], "end": ws[8]["end"]}]}]},
        "sentiment_analysis_results": [{"text": doc["text"], "start": start, "end": end,
                                        "confidence": 0.8, "sentiment": "NEUTRAL",
                                        "speaker": "A"}],
        "chapters": [{"summary": "The caller gives payment and contact details.",
                      "headline": "Payment details", "gist": "Card details",
                      "start": start, "end": end}],
        "iab_categories_result": {"status": "success", "results": [
            {"text": doc["text"], "labels": [{"relevance": 0.9,
                                              "label": "PersonalFinance>CreditCards"}],
             "timestamp": {"start": start, "end": end}}],
            "summary": {"PersonalFinance>CreditCards": 0.9}},
        "content_safety_labels": {"status": "success", "results": [], "summary": {}}})
    msg = TranscriptResponse.parse_obj(doc)
    return json.loads(msg.json(exclude_unset=True))
