package io.flinkfleet.ha.flink20;

import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.jobmanager.ExecutionPlanStoreUtil;

/** Entry names of {@code execution-plans/}: the job id in hex. */
public enum PvcExecutionPlanStoreUtil implements ExecutionPlanStoreUtil {
    INSTANCE;

    @Override
    public String jobIDToName(JobID jobId) {
        return jobId.toHexString();
    }

    @Override
    public JobID nameToJobID(String name) {
        return JobID.fromHexString(name);
    }
}
