from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_CODE_UNSPECIFIED: _ClassVar[ErrorCode]
    ERROR_CODE_DEADLINE_EXCEEDED: _ClassVar[ErrorCode]
    ERROR_CODE_CANCELLED: _ClassVar[ErrorCode]
    ERROR_CODE_LOAD_FAILED: _ClassVar[ErrorCode]
    ERROR_CODE_WORKER_FAULT: _ClassVar[ErrorCode]
ERROR_CODE_UNSPECIFIED: ErrorCode
ERROR_CODE_DEADLINE_EXCEEDED: ErrorCode
ERROR_CODE_CANCELLED: ErrorCode
ERROR_CODE_LOAD_FAILED: ErrorCode
ERROR_CODE_WORKER_FAULT: ErrorCode

class WorkerMessage(_message.Message):
    __slots__ = ("register", "task_result", "label_loaded", "label_evicted", "log", "heartbeat", "task_chunk")
    REGISTER_FIELD_NUMBER: _ClassVar[int]
    TASK_RESULT_FIELD_NUMBER: _ClassVar[int]
    LABEL_LOADED_FIELD_NUMBER: _ClassVar[int]
    LABEL_EVICTED_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    TASK_CHUNK_FIELD_NUMBER: _ClassVar[int]
    register: Register
    task_result: TaskResult
    label_loaded: LabelLoaded
    label_evicted: LabelEvicted
    log: Log
    heartbeat: Heartbeat
    task_chunk: TaskChunk
    def __init__(self, register: _Optional[_Union[Register, _Mapping]] = ..., task_result: _Optional[_Union[TaskResult, _Mapping]] = ..., label_loaded: _Optional[_Union[LabelLoaded, _Mapping]] = ..., label_evicted: _Optional[_Union[LabelEvicted, _Mapping]] = ..., log: _Optional[_Union[Log, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., task_chunk: _Optional[_Union[TaskChunk, _Mapping]] = ...) -> None: ...

class DispatcherMessage(_message.Message):
    __slots__ = ("run_task", "cancel_task", "load_label", "evict_label", "drain")
    RUN_TASK_FIELD_NUMBER: _ClassVar[int]
    CANCEL_TASK_FIELD_NUMBER: _ClassVar[int]
    LOAD_LABEL_FIELD_NUMBER: _ClassVar[int]
    EVICT_LABEL_FIELD_NUMBER: _ClassVar[int]
    DRAIN_FIELD_NUMBER: _ClassVar[int]
    run_task: RunTask
    cancel_task: CancelTask
    load_label: LoadLabel
    evict_label: EvictLabel
    drain: Drain
    def __init__(self, run_task: _Optional[_Union[RunTask, _Mapping]] = ..., cancel_task: _Optional[_Union[CancelTask, _Mapping]] = ..., load_label: _Optional[_Union[LoadLabel, _Mapping]] = ..., evict_label: _Optional[_Union[EvictLabel, _Mapping]] = ..., drain: _Optional[_Union[Drain, _Mapping]] = ...) -> None: ...

class Register(_message.Message):
    __slots__ = ("worker_id", "max_labels", "slots", "task_types", "labels", "catalog")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_LABELS_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPES_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    CATALOG_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    max_labels: int
    slots: int
    task_types: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.RepeatedScalarFieldContainer[str]
    catalog: LabelCatalog
    def __init__(self, worker_id: _Optional[str] = ..., max_labels: _Optional[int] = ..., slots: _Optional[int] = ..., task_types: _Optional[_Iterable[str]] = ..., labels: _Optional[_Iterable[str]] = ..., catalog: _Optional[_Union[LabelCatalog, _Mapping]] = ...) -> None: ...

class LabelCatalog(_message.Message):
    __slots__ = ("labels",)
    LABELS_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, labels: _Optional[_Iterable[str]] = ...) -> None: ...

class TaskChunk(_message.Message):
    __slots__ = ("task_id", "seq", "chunk_json")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    CHUNK_JSON_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    seq: int
    chunk_json: str
    def __init__(self, task_id: _Optional[str] = ..., seq: _Optional[int] = ..., chunk_json: _Optional[str] = ...) -> None: ...

class TaskResult(_message.Message):
    __slots__ = ("task_id", "ok", "result_json", "error", "label_miss", "load_ms", "run_ms", "error_code")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LABEL_MISS_FIELD_NUMBER: _ClassVar[int]
    LOAD_MS_FIELD_NUMBER: _ClassVar[int]
    RUN_MS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    ok: bool
    result_json: str
    error: str
    label_miss: bool
    load_ms: int
    run_ms: int
    error_code: ErrorCode
    def __init__(self, task_id: _Optional[str] = ..., ok: bool = ..., result_json: _Optional[str] = ..., error: _Optional[str] = ..., label_miss: bool = ..., load_ms: _Optional[int] = ..., run_ms: _Optional[int] = ..., error_code: _Optional[_Union[ErrorCode, str]] = ...) -> None: ...

class LabelLoaded(_message.Message):
    __slots__ = ("label",)
    LABEL_FIELD_NUMBER: _ClassVar[int]
    label: str
    def __init__(self, label: _Optional[str] = ...) -> None: ...

class LabelEvicted(_message.Message):
    __slots__ = ("label",)
    LABEL_FIELD_NUMBER: _ClassVar[int]
    label: str
    def __init__(self, label: _Optional[str] = ...) -> None: ...

class Log(_message.Message):
    __slots__ = ("level", "message", "fields", "unix_ms")
    class FieldsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    level: str
    message: str
    fields: _containers.ScalarMap[str, str]
    unix_ms: int
    def __init__(self, level: _Optional[str] = ..., message: _Optional[str] = ..., fields: _Optional[_Mapping[str, str]] = ..., unix_ms: _Optional[int] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RunTask(_message.Message):
    __slots__ = ("task_id", "task_type", "label", "parameters_json", "deadline_unix_ms")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_JSON_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    task_type: str
    label: str
    parameters_json: str
    deadline_unix_ms: int
    def __init__(self, task_id: _Optional[str] = ..., task_type: _Optional[str] = ..., label: _Optional[str] = ..., parameters_json: _Optional[str] = ..., deadline_unix_ms: _Optional[int] = ...) -> None: ...

class CancelTask(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class LoadLabel(_message.Message):
    __slots__ = ("label",)
    LABEL_FIELD_NUMBER: _ClassVar[int]
    label: str
    def __init__(self, label: _Optional[str] = ...) -> None: ...

class EvictLabel(_message.Message):
    __slots__ = ("label",)
    LABEL_FIELD_NUMBER: _ClassVar[int]
    label: str
    def __init__(self, label: _Optional[str] = ...) -> None: ...

class Drain(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
