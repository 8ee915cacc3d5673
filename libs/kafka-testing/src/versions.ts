/**
 * What differs between the Kafka lines the harness supports: the slf4j binding the release tarball
 * ships (log4j2 from 4.0, reload4j before) and a few tools that moved from the Scala core jar to
 * kafka-tools. Class names were checked with `unzip -l` against the 4.3.1 and 3.9.1 jars.
 */
export const DEFAULT_KAFKA_VERSION = '4.3.1';

export type LoggingBackend = 'log4j2' | 'reload4j';

export interface MavenArtifact {
  groupId: string;
  artifactId: string;
  version: string;
}

export interface KafkaClassNames {
  broker: string;
  storageTool: string;
  topicCommand: string;
  consoleConsumer: string;
  consoleProducer: string;
  verifiableProducer: string;
  dumpLogSegments: string;
}

export interface KafkaVersionProfile {
  version: string;
  major: number;
  logging: LoggingBackend;
  loggingBinding: MavenArtifact;
  classes: KafkaClassNames;
}

export function kafkaVersionFromEnv(): string {
  const v = process.env.KAFKA_VERSION;
  return v !== undefined && v !== '' ? v : DEFAULT_KAFKA_VERSION;
}

export function versionProfile(version: string): KafkaVersionProfile {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:[-.].*)?$/.exec(version);
  if (m === null) throw new Error(`kafka-testing: not a Kafka version: ${JSON.stringify(version)}`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  // KRaft combined mode with `--standalone` / dynamic quorums needs 3.9; older lines also lack the
  // tools layout below, and nothing in this project targets them.
  if (major < 3 || (major === 3 && minor < 9)) {
    throw new Error(`kafka-testing: Kafka ${version} is not supported (3.9.x or 4.x)`);
  }
  if (major >= 4) {
    return {
      version,
      major,
      logging: 'log4j2',
      // The 4.x tarball ships log4j2 through the slf4j 1.7 binding (not log4j-slf4j2-impl).
      loggingBinding: { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j-impl', version: '2.25.1' },
      classes: {
        broker: 'kafka.Kafka',
        storageTool: 'kafka.tools.StorageTool',
        topicCommand: 'org.apache.kafka.tools.TopicCommand',
        consoleConsumer: 'org.apache.kafka.tools.consumer.ConsoleConsumer',
        consoleProducer: 'org.apache.kafka.tools.ConsoleProducer',
        verifiableProducer: 'org.apache.kafka.tools.VerifiableProducer',
        dumpLogSegments: 'org.apache.kafka.tools.DumpLogSegments',
      },
    };
  }
  return {
    version,
    major,
    logging: 'reload4j',
    // 3.9 ships slf4j-api 1.7.36 with slf4j-reload4j of the same version.
    loggingBinding: { groupId: 'org.slf4j', artifactId: 'slf4j-reload4j', version: '1.7.36' },
    classes: {
      broker: 'kafka.Kafka',
      storageTool: 'kafka.tools.StorageTool',
      topicCommand: 'org.apache.kafka.tools.TopicCommand',
      consoleConsumer: 'org.apache.kafka.tools.consumer.ConsoleConsumer',
      consoleProducer: 'kafka.tools.ConsoleProducer',
      verifiableProducer: 'org.apache.kafka.tools.VerifiableProducer',
      dumpLogSegments: 'kafka.tools.DumpLogSegments',
    },
  };
}
